//! Running the user's helm: `helm template` of the chart with the user's values files and
//! `--set`s plus values of our own, and its output read as a YAML stream in which each
//! document knows the template file that wrote it (the `# Source:` line helm puts above it).
//!
//! Values of our own (probes, the proposed change) go in temporary files after the user's
//! `-f` files, so they merge over them exactly as `helm upgrade -f` would; `--set` still wins,
//! as it does for the user.

use super::Error;
use crate::workload::{self, Workload};
use crate::yaml;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The line helm writes above each rendered document.
const SOURCE_PREFIX: &str = "# Source: ";

/// How to render one chart, and how many renders it took.
#[derive(Debug)]
pub struct Renderer {
    /// The helm binary (`helm` on PATH, or `--helm BIN`).
    pub helm: PathBuf,
    /// The chart as helm takes it: a directory, a packaged chart or a repository reference.
    pub chart: String,
    pub release: String,
    pub namespace: String,
    /// The user's `--values` files, in order.
    pub values: Vec<PathBuf>,
    /// The user's `--set` arguments, in order.
    pub set: Vec<String>,
    renders: Cell<usize>,
}

impl Renderer {
    pub fn new(helm: PathBuf, chart: String, release: String, namespace: String) -> Renderer {
        Renderer {
            helm,
            chart,
            release,
            namespace,
            values: Vec::new(),
            set: Vec::new(),
            renders: Cell::new(0),
        }
    }

    /// How many times `helm template` ran.
    pub fn renders(&self) -> usize {
        self.renders.get()
    }

    /// Renders the chart with `extra` values (YAML or JSON texts) merged over the user's.
    pub fn render(&self, extra: &[String]) -> Result<Rendered, Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let mut command = Command::new(&self.helm);
        command
            .args(["template", &self.release, &self.chart])
            .args(["--namespace", &self.namespace]);
        for file in &self.values {
            command.arg("--values").arg(file);
        }
        for (index, text) in extra.iter().enumerate() {
            let path = dir.path().join(format!("pss-fix-{index}.yaml"));
            std::fs::write(&path, text).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            command.arg("--values").arg(path);
        }
        for set in &self.set {
            command.arg("--set").arg(set);
        }
        self.renders.set(self.renders.get() + 1);
        let output = self.run(command, "template")?;
        Rendered::parse(&output)
    }

    /// `helm show SUBCOMMAND CHART` (`values`, `chart`): what a packaged chart holds.
    pub fn show(&self, subcommand: &str, chart: &Path) -> Result<String, Error> {
        let mut command = Command::new(&self.helm);
        command.args(["show", subcommand]).arg(chart);
        self.run(command, &format!("show {subcommand}"))
    }

    fn run(&self, mut command: Command, what: &str) -> Result<String, Error> {
        let output = command.output().map_err(|source| Error::Spawn {
            helm: self.helm.clone(),
            source,
        })?;
        if !output.status.success() {
            return Err(Error::Helm {
                command: what.to_owned(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        String::from_utf8(output.stdout).map_err(|_| Error::Output {
            command: what.to_owned(),
            message: "not UTF-8".to_owned(),
        })
    }
}

/// The output of one render.
#[derive(Debug)]
pub struct Rendered {
    pub stream: yaml::Stream,
    /// Per document: the template file that wrote it, as helm names it
    /// (`CHART/templates/FILE`, `CHART/charts/SUB/templates/FILE`).
    sources: Vec<Option<String>>,
}

impl Rendered {
    fn parse(text: &str) -> Result<Rendered, Error> {
        let stream = yaml::Stream::parse(text).map_err(|error| Error::Output {
            command: "template".to_owned(),
            message: error.to_string(),
        })?;
        let sources = document_sources(text, stream.documents().iter().map(|d| d.line()));
        Ok(Rendered { stream, sources })
    }

    /// Every workload of the render, with the template file that wrote it.
    pub fn workloads(&self) -> Vec<(Workload<'_>, Option<&str>)> {
        self.stream
            .documents()
            .iter()
            .zip(&self.sources)
            .flat_map(|(document, source)| {
                workload::workloads(document.value())
                    .into_iter()
                    .map(move |found| (found, source.as_deref()))
            })
            .collect()
    }

    /// Every document's value (Namespaces are read from them).
    pub fn values(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.stream.documents().iter().map(yaml::Document::value)
    }
}

/// The `# Source:` file of each document, given the line each document starts on: the last
/// such line above the document and below the previous one.
fn document_sources(text: &str, starts: impl Iterator<Item = usize>) -> Vec<Option<String>> {
    let marked: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter_map(|(index, line)| Some((index + 1, line.strip_prefix(SOURCE_PREFIX)?.trim())))
        .collect();
    let mut previous = 0;
    starts
        .map(|start| {
            let source = marked
                .iter()
                .rev()
                .find(|(line, _)| *line <= start && *line > previous)
                .map(|(_, source)| (*source).to_owned());
            previous = start;
            source
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_document_gets_the_source_line_above_it() {
        let text = "---\n# Source: app/templates/service.yaml\nkind: Service\n---\n\
# Source: app/charts/db/templates/pod.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: db\n\
---\nkind: ConfigMap\n";
        let rendered = Rendered::parse(text).expect("parses");
        assert_eq!(
            rendered.sources,
            [
                Some("app/templates/service.yaml".to_owned()),
                Some("app/charts/db/templates/pod.yaml".to_owned()),
                None
            ]
        );
        let workloads = rendered.workloads();
        assert_eq!(workloads.len(), 1);
        assert_eq!(workloads[0].0.name.as_deref(), Some("db"));
        assert_eq!(workloads[0].1, Some("app/charts/db/templates/pod.yaml"));
    }
}
