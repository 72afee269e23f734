//! Every shipped integration, run end to end with the real tool: helm 3 and helm 4 (built from
//! helm.sh/helm/v3 and v4), kustomize (sigs.k8s.io/kustomize/kustomize/v5) and actionlint
//! (github.com/rhysd/actionlint) from `target/e2e/bin` (`e2e/tools/build`), pre-commit from
//! PyPI, and `sh` for the Argo CD plugin's script. Each test fails under CI when its tool is
//! missing and skips with a message elsewhere (`util::tools`).
//!
//! What each proves is in its doc comment; the fixed output of every render is checked with
//! `pss-fix check`, so "fixed" means "passes the level", not "looks edited".

use crate::util::tools::{built, on_path, path_with_pss_fix};
use crate::util::{copy_tree, stderr, stdout, Dir, BASELINE_ONLY};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command isolated in `dir`: its own home and XDG directories (helm 4.3's `plugin install`
/// follows XDG_DATA_HOME but not HELM_DATA_HOME or HELM_PLUGINS, which `plugin list` honours),
/// pss-fix and `extra` on PATH, and no cluster.
fn isolated(program: &Path, dir: &Dir, extra: &[&Path]) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir.path())
        .env("PATH", path_with_pss_fix(extra))
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join(".config"))
        .env("XDG_CACHE_HOME", dir.path().join(".cache"))
        .env("XDG_DATA_HOME", dir.path().join(".local/share"))
        .env("KUBECONFIG", dir.path().join(".kube/none"));
    for variable in [
        "HELM_CONFIG_HOME",
        "HELM_CACHE_HOME",
        "HELM_DATA_HOME",
        "HELM_PLUGINS",
    ] {
        command.env_remove(variable);
    }
    command
}

/// helm, isolated in `dir`.
fn helm(helm: &Path, dir: &Dir, args: &[&str]) -> Output {
    isolated(helm, dir, &[])
        .args(args)
        .output()
        .expect("helm runs")
}

/// `pss-fix check` of a rendered stream at `level`: the exit code and the findings.
fn check(dir: &Dir, rendered: &str, level: &str) -> (i32, String) {
    let output = dir
        .command(&["check", "--level", level, "-"])
        .write_stdin(rendered)
        .output()
        .expect("runs");
    (output.status.code().unwrap_or(-1), stdout(&output))
}

/// The Helm 3 post-renderer arguments the README documents.
const HELM3_POST_RENDERER: [&str; 8] = [
    "--post-renderer",
    "pss-fix",
    "--post-renderer-args",
    "fix",
    "--post-renderer-args",
    "--stdout",
    "--post-renderer-args",
    "-",
];

/// Helm 3 runs `pss-fix fix --stdout -` as its post-renderer on a chart we wrote (a Deployment
/// with a comment, a CronJob running as root with an added capability, a ConfigMap): the
/// rendered stream comes back fixed, comments and `# Source:` lines kept, and passes
/// restricted. A post-renderer failure (a bad level) fails `helm template` with no output.
#[test]
fn helm3_post_renderer_fixes_a_chart() {
    const TEST: &str = "integrations::helm3_post_renderer_fixes_a_chart";
    let Some(helm3) = built("helm3", TEST) else {
        return;
    };
    let dir = Dir::new();
    copy_tree(
        &repo().join("tests/data/charts/shop"),
        &dir.path().join("shop"),
    );
    let before = helm(&helm3, &dir, &["template", "rel", "shop"]);
    assert!(before.status.success(), "{}", stderr(&before));
    assert_eq!(
        check(&dir, &stdout(&before), "restricted").0,
        1,
        "the chart needs fixing"
    );
    let mut args = vec!["template", "rel", "shop"];
    args.extend(HELM3_POST_RENDERER);
    let fixed = helm(&helm3, &dir, &args);
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    let text = stdout(&fixed);
    assert!(
        text.contains("# Source: shop/templates/web.yaml\n"),
        "{text}"
    );
    assert!(text.contains("- name: web  # serves the shop\n"), "{text}");
    assert_eq!(check(&dir, &text, "restricted"), (0, String::new()));
    let readme = fs::read_to_string(repo().join("integrations/helm/README.md")).expect("README");
    assert!(
        readme.contains(
            "--post-renderer pss-fix \\\n  --post-renderer-args fix --post-renderer-args --stdout \
--post-renderer-args -"
        ),
        "the README shows the arguments tested here"
    );
    let mut failing = vec!["template", "rel", "shop"];
    failing.extend(HELM3_POST_RENDERER);
    failing.extend([
        "--post-renderer-args",
        "--level",
        "--post-renderer-args",
        "strict",
    ]);
    let failed = helm(&helm3, &dir, &failing);
    assert!(!failed.status.success());
    assert_eq!(stdout(&failed), "");
    assert!(stderr(&failed).contains("strict"), "{}", stderr(&failed));
}

/// The same post-renderer on the chart `helm create` scaffolds (a Deployment, a Service, a
/// ServiceAccount and a `helm test` Pod hook): with `--skip-tests` everything rendered passes
/// restricted. Helm 3 does not post-render hooks: the test Pod is the one workload left as the
/// chart wrote it (README says so; Helm 4 post-renders hooks, see the next test).
#[test]
fn helm3_post_renderer_fixes_the_helm_create_scaffold() {
    const TEST: &str = "integrations::helm3_post_renderer_fixes_the_helm_create_scaffold";
    let Some(helm3) = built("helm3", TEST) else {
        return;
    };
    let dir = Dir::new();
    let created = helm(&helm3, &dir, &["create", "web"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let mut args = vec!["template", "rel", "web", "--skip-tests"];
    args.extend(HELM3_POST_RENDERER);
    let fixed = helm(&helm3, &dir, &args);
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    let text = stdout(&fixed);
    assert!(
        text.contains("kind: Deployment") && text.contains("kind: Service"),
        "{text}"
    );
    assert_eq!(check(&dir, &text, "restricted"), (0, String::new()));
    args.retain(|arg| *arg != "--skip-tests");
    let with_hooks = helm(&helm3, &dir, &args);
    let (code, findings) = check(&dir, &stdout(&with_hooks), "restricted");
    assert_eq!(code, 1);
    assert!(
        findings
            .lines()
            .all(|line| line.contains("Pod/rel-web-test-connection")),
        "only the hook is left: {findings}"
    );
}

/// Helm 4 runs post-renderers only as plugins: `helm plugin install integrations/helm/pss-fix`
/// installs ours (plugin.yaml + postrender.sh), `--post-renderer pss-fix` finds it, and both
/// `template` and `install --dry-run=client` come out passing restricted, on our chart and on
/// the `helm create` scaffold, whose test Pod hook Helm 4 post-renders too.
/// `--post-renderer-args` reach `pss-fix fix` (a baseline fix adds no runAsNonRoot), and a
/// failing plugin fails helm with no output.
#[test]
fn helm4_postrenderer_plugin() {
    const TEST: &str = "integrations::helm4_postrenderer_plugin";
    let Some(helm4) = built("helm4", TEST) else {
        return;
    };
    let dir = Dir::new();
    copy_tree(
        &repo().join("tests/data/charts/shop"),
        &dir.path().join("shop"),
    );
    let plugin = repo().join("integrations/helm/pss-fix");
    let installed = helm(
        &helm4,
        &dir,
        &["plugin", "install", plugin.to_str().expect("UTF-8")],
    );
    assert!(installed.status.success(), "{}", stderr(&installed));
    let listed = stdout(&helm(&helm4, &dir, &["plugin", "list"]));
    assert!(listed.contains("postrenderer/v1"), "{listed}");
    assert!(helm(&helm4, &dir, &["create", "web"]).status.success());
    for chart in ["shop", "web"] {
        let fixed = helm(
            &helm4,
            &dir,
            &["template", "rel", chart, "--post-renderer", "pss-fix"],
        );
        assert!(fixed.status.success(), "{chart}: {}", stderr(&fixed));
        assert_eq!(
            check(&dir, &stdout(&fixed), "restricted"),
            (0, String::new()),
            "{chart}"
        );
    }
    let install = helm(
        &helm4,
        &dir,
        &[
            "install",
            "rel",
            "shop",
            "--dry-run=client",
            "--post-renderer",
            "pss-fix",
        ],
    );
    assert!(install.status.success(), "{}", stderr(&install));
    let manifest = stdout(&install);
    let manifest = &manifest[manifest.find("---").expect("a manifest")..];
    assert_eq!(check(&dir, manifest, "restricted"), (0, String::new()));
    let baseline = helm(
        &helm4,
        &dir,
        &[
            "template",
            "rel",
            "shop",
            "--post-renderer",
            "pss-fix",
            "--post-renderer-args",
            "--level",
            "--post-renderer-args",
            "baseline",
        ],
    );
    assert!(baseline.status.success(), "{}", stderr(&baseline));
    let text = stdout(&baseline);
    assert!(
        !text.contains("runAsNonRoot") && !text.contains("NET_ADMIN"),
        "{text}"
    );
    assert_eq!(check(&dir, &text, "baseline").0, 0);
    let failed = helm(
        &helm4,
        &dir,
        &[
            "template",
            "rel",
            "shop",
            "--post-renderer",
            "pss-fix",
            "--post-renderer-args",
            "--pss-version",
            "--post-renderer-args",
            "1.30",
        ],
    );
    assert!(!failed.status.success());
    assert_eq!(stdout(&failed), "");
}

/// kustomize runs `pss-fix krm` as an exec KRM function through `kustomize build
/// --enable-alpha-plugins --enable-exec`: listed in `transformers:` as the shipped function
/// config file (its `data` are config keys: runAsUser reaches the fix), and inline in the
/// transformers list. The built stream passes restricted; a bad function config fails the
/// build.
#[test]
fn kustomize_krm_function() {
    const TEST: &str = "integrations::kustomize_krm_function";
    let Some(kustomize) = built("kustomize", TEST) else {
        return;
    };
    let dir = Dir::new();
    dir.copy_examples();
    copy_tree(
        &repo().join("integrations/kustomize"),
        &dir.path().join("file"),
    );
    let transformer = dir.read("file/pss-fix-transformer.yaml");
    dir.write(
        "file/pss-fix-transformer.yaml",
        transformer.replace(
            "  version: latest\n",
            "  version: latest\n  runAsUser: \"4242\"\n",
        ),
    );
    let build = |root: &str| {
        Command::new(&kustomize)
            .current_dir(dir.path().join(root))
            .args(["build", "--enable-alpha-plugins", "--enable-exec", "."])
            .env("PATH", path_with_pss_fix(&[]))
            .output()
            .expect("kustomize runs")
    };
    let by_file = build("file");
    assert!(by_file.status.success(), "{}", stderr(&by_file));
    let text = stdout(&by_file);
    assert!(text.contains("runAsUser: 4242"), "{text}");
    assert_eq!(check(&dir, &text, "restricted"), (0, String::new()));

    let inline = |level: &str| {
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\ntransformers:\n  - |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: pss-fix\n      annotations:\n        config.kubernetes.io/function: |\n          exec:\n            path: pss-fix\n            args: [krm]\n    data:\n      level: {level}\n"
        )
    };
    dir.write("inline/web.yaml", dir.read("shop/web.yaml"));
    dir.write("inline/kustomization.yaml", inline("restricted"));
    let by_inline = build("inline");
    assert!(by_inline.status.success(), "{}", stderr(&by_inline));
    assert_eq!(
        check(&dir, &stdout(&by_inline), "restricted"),
        (0, String::new())
    );
    dir.write("inline/kustomization.yaml", inline("strict"));
    let failed = build("inline");
    assert!(!failed.status.success(), "{}", stdout(&failed));
    assert!(stderr(&failed).contains("strict"), "{}", stderr(&failed));
}

/// The Argo CD plugin's generate script, run with `sh` as the CMP sidecar runs it, with the
/// real helm 3 and kustomize as `helm` and `kustomize`: a chart and a kustomization come out
/// fixed; a chart that fails to render fails the script with nothing on stdout (under plain
/// `render | pss-fix`, sh would have reported success and an empty manifest set).
#[test]
fn argocd_plugin_fails_on_a_failing_render() {
    const TEST: &str = "integrations::argocd_plugin_fails_on_a_failing_render";
    let (Some(helm3), Some(kustomize)) = (built("helm3", TEST), built("kustomize", TEST)) else {
        return;
    };
    let dir = Dir::new();
    let tools = dir.path().join("tools");
    fs::create_dir_all(&tools).expect("mkdir");
    std::os::unix::fs::symlink(&helm3, tools.join("helm")).expect("symlink");
    std::os::unix::fs::symlink(&kustomize, tools.join("kustomize")).expect("symlink");
    let plugin =
        fs::read_to_string(repo().join("integrations/argocd/plugin.yaml")).expect("plugin.yaml");
    let plugin = &crate::util::documents(&plugin)[0]["spec"];
    let script = |phase: &str| {
        assert_eq!(plugin[phase]["command"], serde_json::json!(["sh", "-c"]));
        plugin[phase]["args"][0]
            .as_str()
            .expect("a script")
            .to_owned()
    };
    let run = |app: &Path, phase: &str| {
        isolated(Path::new("sh"), &dir, &[&tools])
            .current_dir(app)
            .args(["-c", &script(phase)])
            .env("ARGOCD_APP_NAME", "shop")
            .env("ARGOCD_APP_NAMESPACE", "shop")
            .output()
            .expect("sh runs")
    };
    let chart = dir.path().join("chart");
    copy_tree(&repo().join("tests/data/charts/shop"), &chart);
    assert!(run(&chart, "init").status.success());
    let rendered = run(&chart, "generate");
    assert!(rendered.status.success(), "{}", stderr(&rendered));
    assert_eq!(
        check(&dir, &stdout(&rendered), "restricted"),
        (0, String::new())
    );

    dir.write("kustomized/app.yaml", BASELINE_ONLY);
    dir.write(
        "kustomized/kustomization.yaml",
        "resources:\n  - app.yaml\n",
    );
    let built_app = run(&dir.path().join("kustomized"), "generate");
    assert!(built_app.status.success(), "{}", stderr(&built_app));
    assert_eq!(
        check(&dir, &stdout(&built_app), "restricted"),
        (0, String::new())
    );

    fs::write(
        chart.join("templates/broken.yaml"),
        "{{ .Values.image | nope }}\n",
    )
    .expect("write");
    let failed = run(&chart, "generate");
    assert_ne!(
        failed.status.code(),
        Some(0),
        "a failed render must fail the sync"
    );
    assert_eq!(
        stdout(&failed),
        "",
        "no partial manifest set reaches Argo CD"
    );
    assert!(stderr(&failed).contains("nope"), "{}", stderr(&failed));
}

/// The shipped GitHub Action and example workflows pass actionlint (which runs shellcheck on
/// the workflows' scripts) and shellcheck passes on the action's own scripts, with the action
/// used as a local action so that actionlint checks its metadata and inputs too; inputs reach scripts only through `env:`; the SARIF
/// upload runs `if: always()`; the binary is cached. Then the action's check script itself
/// runs in bash with the env the action gives it: the SARIF report is written and the exit
/// code follows `fail-on-findings`, and a path with shell syntax stays a path.
#[test]
fn github_action_passes_actionlint_and_its_script_runs() {
    const TEST: &str = "integrations::github_action_passes_actionlint_and_its_script_runs";
    let Some(actionlint) = built("actionlint", TEST) else {
        return;
    };
    let dir = Dir::new();
    let action_text = fs::read_to_string(repo().join("action.yml")).expect("action.yml");
    dir.write("action.yml", &action_text);
    for file in ["pss-fix.yml", "pss-fix-action.yml"] {
        let text = fs::read_to_string(repo().join("integrations/github").join(file))
            .expect("example workflow");
        dir.write(
            &format!(".github/workflows/{file}"),
            text.replace("OWNER/pss-fix@v0", "./"),
        );
    }
    assert!(Command::new("git")
        .current_dir(dir.path())
        .args(["init", "-q"])
        .status()
        .expect("git runs")
        .success());
    let linted = Command::new(&actionlint)
        .current_dir(dir.path())
        .arg("-color=false")
        .output()
        .expect("actionlint runs");
    assert!(
        linted.status.success(),
        "{}{}",
        stdout(&linted),
        stderr(&linted)
    );

    let action = &crate::util::documents(&action_text)[0];
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let shellcheck = on_path("shellcheck", TEST, "apt-get install shellcheck");
    for step in steps {
        if let Some(script) = step["run"].as_str() {
            assert!(
                !script.contains("${{"),
                "an expression pasted into a script: {script}"
            );
            // actionlint checks workflow scripts, not a composite action's: shellcheck them.
            if let Some(shellcheck) = &shellcheck {
                let mut child = Command::new(shellcheck)
                    .args(["--shell=bash", "-"])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("shellcheck runs");
                std::io::Write::write_all(
                    &mut child.stdin.take().expect("stdin"),
                    script.as_bytes(),
                )
                .expect("write");
                let output = child.wait_with_output().expect("shellcheck ends");
                assert!(output.status.success(), "{script}\n{}", stdout(&output));
            }
        }
    }
    let upload = steps
        .iter()
        .find(|step| {
            step["uses"]
                .as_str()
                .is_some_and(|uses| uses.contains("upload-sarif"))
        })
        .expect("an upload step");
    assert!(upload["if"]
        .as_str()
        .is_some_and(|condition| condition.contains("always()")));
    assert!(steps.iter().any(|step| step["uses"]
        .as_str()
        .is_some_and(|uses| uses.starts_with("actions/cache@"))));

    let check = steps
        .iter()
        .find(|step| step["id"] == "check")
        .expect("the check step");
    let script = check["run"].as_str().expect("a script");
    dir.copy_examples();
    dir.write("$(touch${IFS}pwned)/app.yaml", BASELINE_ONLY);
    let run = |fail_on_findings: &str| {
        Command::new("bash")
            .current_dir(dir.path())
            .args(["-e", "-c", script])
            .env("PSS_FIX", env!("CARGO_BIN_EXE_pss-fix"))
            .env("MANIFEST_PATHS", "shop $(touch${IFS}pwned)")
            .env("LEVEL", "restricted")
            .env("PSS_VERSION", "latest")
            .env("SARIF_FILE", "out.sarif")
            .env("FAIL_ON_FINDINGS", fail_on_findings)
            .output()
            .expect("bash runs")
    };
    let failing = run("true");
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    let sarif: serde_json::Value =
        serde_json::from_str(&dir.read("out.sarif")).expect("a SARIF report");
    let uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|result| {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
        })
        .collect();
    assert!(uris.iter().any(|uri| uri.starts_with("shop/")), "{uris:?}");
    assert!(
        uris.iter().any(|uri| uri.starts_with("%24%28touch")),
        "the path with shell syntax was checked as a path: {uris:?}"
    );
    assert!(!dir.path().join("pwned").exists(), "an input ran as code");
    assert_eq!(run("false").status.code(), Some(0));
}

/// pre-commit from PyPI against a temporary git repository, with this repository's hooks at a
/// commit: the `language: script` hook builds pss-fix with `cargo build --locked` (the release
/// profile made cheap through cargo's environment, into target/e2e/pre-commit so the build is
/// kept), the check hook fails on a violating manifest and passes over the chart's templates
/// and what `.pss-fix.yaml` excludes (named one by one by pre-commit), and the fix hook fixes
/// the file and fails, then passes.
#[test]
fn pre_commit_hooks_run_in_a_repository() {
    const TEST: &str = "integrations::pre_commit_hooks_run_in_a_repository";
    let Some(pre_commit) = on_path(
        "pre-commit",
        TEST,
        "python3 -m pip install pre-commit==4.7.0",
    ) else {
        return;
    };
    let dir = Dir::new();
    let git = |cwd: &Path, args: &[&str]| {
        let output = Command::new("git")
            .current_dir(cwd)
            .args(args)
            .env("GIT_AUTHOR_NAME", "test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
        stdout(&output)
    };
    // The hooks' repository: this one's tracked and new files, as they are now.
    let hooks = dir.path().join("hooks");
    let listed = git(&repo(), &["ls-files", "-co", "--exclude-standard", "-z"]);
    for file in listed.split('\0').filter(|file| !file.is_empty()) {
        let from = repo().join(file);
        if from.is_file() {
            let to = hooks.join(file);
            fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            fs::copy(&from, &to).expect("copy");
        }
    }
    git(&hooks, &["init", "-q"]);
    git(&hooks, &["add", "-A"]);
    git(&hooks, &["commit", "-q", "-m", "hooks"]);
    let rev = git(&hooks, &["rev-parse", "HEAD"]).trim().to_owned();

    let project = dir.path().join("project");
    fs::create_dir_all(&project).expect("mkdir");
    git(&project, &["init", "-q"]);
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: pss-fix-check\n      - id: pss-fix-fix\n        stages: [manual]\n",
        hooks.display()
    );
    dir.write("project/.pre-commit-config.yaml", config);
    dir.write("project/k8s/app.yaml", BASELINE_ONLY);
    dir.write(
        "project/chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    dir.write(
        "project/chart/templates/d.yaml",
        "{{- if .Values.x }}\nkind: Pod\n{{- end }}\n",
    );
    dir.write("project/legacy/old.yaml", BASELINE_ONLY);
    dir.write("project/.pss-fix.yaml", "exclude: [legacy/]\n");
    git(&project, &["add", "-A"]);
    let target = repo().join("target/e2e/pre-commit");
    let run = |args: &[&str]| {
        Command::new(&pre_commit)
            .current_dir(&project)
            .args(args)
            .env("PRE_COMMIT_HOME", dir.path().join("pre-commit-home"))
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_PROFILE_RELEASE_LTO", "off")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .output()
            .expect("pre-commit runs")
    };
    let checked = run(&["run", "pss-fix-check", "--all-files"]);
    let report = format!("{}{}", stdout(&checked), stderr(&checked));
    assert_eq!(checked.status.code(), Some(1), "{report}");
    assert!(report.contains("k8s/app.yaml:"), "{report}");
    assert!(
        !report.contains("legacy/old.yaml"),
        "excluded by .pss-fix.yaml: {report}"
    );
    assert!(!report.contains("chart/templates/d.yaml:"), "{report}");

    let fixed = run(&[
        "run",
        "pss-fix-fix",
        "--hook-stage",
        "manual",
        "--all-files",
    ]);
    let report = format!("{}{}", stdout(&fixed), stderr(&fixed));
    assert_eq!(
        fixed.status.code(),
        Some(1),
        "files were modified: {report}"
    );
    assert_ne!(
        fs::read_to_string(project.join("k8s/app.yaml")).expect("read"),
        BASELINE_ONLY
    );
    assert_eq!(
        fs::read_to_string(project.join("legacy/old.yaml")).expect("read"),
        BASELINE_ONLY
    );
    git(&project, &["add", "-A"]);
    let again = run(&["run", "pss-fix-check", "--all-files"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}{}",
        stdout(&again),
        stderr(&again)
    );
}
