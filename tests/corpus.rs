//! The editor over the real-world manifests in `tests/corpus` (their sources are in its
//! SOURCES.md).
//!
//! For every `*.yaml`, `*.yml` and `*.json` file: it parses; an empty patch gives the input back
//! byte for byte; and every document holding a pod spec (`spec` of a Pod, `spec.template.spec`,
//! `spec.jobTemplate.spec.template.spec`, recursively in `List` items) takes a generated set of
//! securityContext patches (pod and container `securityContext` fields added or replaced,
//! `capabilities.drop: [ALL]`, `hostPort`/`capabilities.add`/`hostNetwork` removed). The edit
//! must succeed, which means it passed its own I2 check (the re-parsed value equals the patched
//! value), and it must satisfy I1: in a line diff of input and output, every changed or inserted
//! line lies within the range of a node the patch replaces or removes (`Stream::range`), or at
//! the last line of the parent a new member is added to; widened by the comment lines above,
//! the comment or blank lines after, one line above (the key of a value rewritten to block
//! form) and one line after (where appended lines start).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the test reports what it checked"
)]

use std::fs;
use std::ops::Range;
use std::path::Path;

use json_patch::Patch;
use pss_fix::yaml::Stream;
use serde_json::{json, Value};
use similar::{Algorithm, DiffOp, TextDiff};

#[test]
fn corpus_parses_round_trips_and_takes_security_context_patches() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let entries = fs::read_dir(&corpus).expect("tests/corpus is in the repository");
    let mut paths: Vec<_> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|ext| ext.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .collect();
    paths.sort();
    let (mut files, mut documents, mut pod_documents, mut operations) = (0, 0, 0, 0);
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = fs::read_to_string(path).unwrap();
        let stream = Stream::parse(&source).unwrap_or_else(|error| panic!("{name}:{error}"));
        assert!(
            stream.edit(&[]).unwrap() == source,
            "{name}: empty patch changed bytes"
        );
        files += 1;
        documents += stream.documents().len();
        // One edit for the whole file, as the CLI makes it.
        let mut edits = Vec::new();
        for (index, document) in stream.documents().iter().enumerate() {
            let mut ops = Vec::new();
            for pointer in pod_specs(document.value(), "") {
                security_context_ops(document.value(), &pointer, &mut ops);
            }
            if !ops.is_empty() {
                edits.push((index, ops));
            }
        }
        if edits.is_empty() {
            continue;
        }
        let patches: Vec<(usize, Patch)> = edits
            .iter()
            .map(|(index, ops)| {
                (
                    *index,
                    serde_json::from_value(Value::Array(ops.clone())).unwrap(),
                )
            })
            .collect();
        let output = stream
            .edit(&patches)
            .unwrap_or_else(|error| panic!("{name}:{error}"));
        check_only_touched_lines_changed(&name, &stream, &edits, &source, &output);
        pod_documents += edits.len();
        operations += edits.iter().map(|(_, ops)| ops.len()).sum::<usize>();
    }
    println!(
        "corpus: {files} files, {documents} documents parsed and round-tripped, \
         {pod_documents} pod documents edited with {operations} operations (I1, I2 checked)"
    );
    assert!(files > 0, "no corpus files found in {}", corpus.display());
}

/// JSON pointers of the pod specs in a document value.
fn pod_specs(value: &Value, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    if value["kind"] == "Pod" && value["spec"].is_object() {
        found.push(format!("{prefix}/spec"));
    }
    if value["spec"]["template"]["spec"].is_object() {
        found.push(format!("{prefix}/spec/template/spec"));
    }
    if value["spec"]["jobTemplate"]["spec"]["template"]["spec"].is_object() {
        found.push(format!("{prefix}/spec/jobTemplate/spec/template/spec"));
    }
    if let Some(items) = value["items"].as_array() {
        for (index, item) in items.iter().enumerate() {
            found.extend(pod_specs(item, &format!("{prefix}/items/{index}")));
        }
    }
    found
}

fn pointer_get<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or(&Value::Null)
}

/// The fixes a hardening tool makes to one pod spec, as RFC 6902 operations.
fn security_context_ops(document: &Value, pod: &str, ops: &mut Vec<Value>) {
    let spec = pointer_get(document, pod);
    let pod_context = &spec["securityContext"];
    if pod_context.is_object() {
        ops.push(json!({"op": "add", "path": format!("{pod}/securityContext/runAsNonRoot"), "value": true}));
        ops.push(json!({"op": "add", "path": format!("{pod}/securityContext/seccompProfile"), "value": {"type": "RuntimeDefault"}}));
        if pod_context.get("runAsUser").is_some() {
            ops.push(json!({"op": "replace", "path": format!("{pod}/securityContext/runAsUser"), "value": 65532}));
        }
    } else {
        ops.push(json!({"op": "add", "path": format!("{pod}/securityContext"), "value": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}}));
    }
    if spec.get("hostNetwork").is_some() {
        ops.push(json!({"op": "remove", "path": format!("{pod}/hostNetwork")}));
    }
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec[list].as_array() else {
            continue;
        };
        for (index, container) in containers.iter().enumerate() {
            let at = format!("{pod}/{list}/{index}");
            let context = &container["securityContext"];
            if context.is_object() {
                ops.push(json!({"op": "add", "path": format!("{at}/securityContext/allowPrivilegeEscalation"), "value": false}));
                if context["capabilities"].is_object() {
                    ops.push(json!({"op": "add", "path": format!("{at}/securityContext/capabilities/drop"), "value": ["ALL"]}));
                    if context["capabilities"].get("add").is_some() {
                        ops.push(json!({"op": "remove", "path": format!("{at}/securityContext/capabilities/add")}));
                    }
                } else {
                    ops.push(json!({"op": "add", "path": format!("{at}/securityContext/capabilities"), "value": {"drop": ["ALL"]}}));
                }
                if context.get("privileged").is_some() {
                    ops.push(json!({"op": "replace", "path": format!("{at}/securityContext/privileged"), "value": false}));
                }
            } else {
                ops.push(json!({"op": "add", "path": format!("{at}/securityContext"), "value": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}));
            }
            for (port, spec) in container["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if spec.get("hostPort").is_some() {
                    ops.push(
                        json!({"op": "remove", "path": format!("{at}/ports/{port}/hostPort")}),
                    );
                }
            }
        }
    }
}

/// I1: every line the diff changes or inserts lies in a region an operation may touch.
fn check_only_touched_lines_changed(
    name: &str,
    stream: &Stream,
    edits: &[(usize, Vec<Value>)],
    source: &str,
    output: &str,
) {
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(source.match_indices('\n').map(|(at, _)| at + 1))
        .collect();
    let line_of = |offset: usize| line_starts.partition_point(|&start| start <= offset) - 1;
    let mut regions: Vec<Range<usize>> = Vec::new();
    for (document, ops) in edits {
        let value = stream.documents()[*document].value();
        for op in ops {
            let path = op["path"]
                .as_str()
                .expect("generated ops should have a path");
            // An add of a new member goes after its parent's last line; anything else changes
            // the node itself.
            let appended = op["op"] == "add" && value.pointer(path).is_none();
            let touched = if appended {
                &path[..path
                    .rfind('/')
                    .expect("an added member should have a parent")]
            } else {
                path
            };
            let range = stream.range(*document, touched);
            let (mut first, mut last) = (line_of(range.start), line_of(range.end));
            if appended {
                first = last;
            }
            while first > 0 && lines[first - 1].trim_start().starts_with('#') {
                first -= 1;
            }
            while last + 1 < lines.len() && {
                let next = lines[last + 1].trim();
                next.is_empty() || next.starts_with('#')
            } {
                last += 1;
            }
            // The line above (its key, for a value re-rendered in block form) and the line
            // after (where appended lines start).
            regions.push(first.saturating_sub(1)..last + 2);
        }
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(source, output);
    for op in diff.ops() {
        let (start, end) = match *op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index, old_len, ..
            } => (old_index, old_index + old_len),
            DiffOp::Insert { old_index, .. } => (old_index, old_index),
            DiffOp::Replace {
                old_index, old_len, ..
            } => (old_index, old_index + old_len),
        };
        let inside = regions
            .iter()
            .any(|region| region.start <= start && end <= region.end);
        assert!(
            inside,
            "{name}: lines {}..{} changed outside the edited nodes ({op:?})\n{}",
            start + 1,
            end + 1,
            diff.unified_diff().context_radius(2)
        );
    }
}
