//! Suite `fix` of the golden runner: the whole engine (`pss_fix::manifest`) on one manifest,
//! at each level, as `pss-fix fix` runs it. Each case `golden/fix/<case>/` holds:
//! - `input.yaml` or `input.json`: the manifest;
//! - optionally `config.yaml`: a `.pss-fix.yaml` for the case (e.g. `safeOnly: true`);
//! - for each level (`restricted`, `baseline`): `<level>.yaml`/`<level>.json`, the exact fixed
//!   text (the input itself when nothing changes), and `<level>.diff`, the exact diff
//!   `pss-fix fix` prints for it (empty when nothing changes; the file is named `input.yaml`
//!   in its headers).
//!
//! Besides the bytes, every case checks idempotence (I3): fixing the expected output changes
//! nothing.

use super::edit::input_file;
use super::{byte_diff, file_name, read, write};
use pss_fix::config::Config;
use pss_fix::manifest::{Keep, Manifest, Policies};
use pss_fix::pss::{Level, Version};
use std::path::Path;

pub(super) fn run(dir: &Path, bless: bool) -> Result<(), String> {
    let (input_path, extension) = input_file(dir)?;
    let input = read(&input_path)?;
    let config = config(dir)?;
    let mut failures = Vec::new();
    for level in [Level::Restricted, Level::Baseline] {
        let policies = Policies::fixed(level, Version::Latest, config.clone());
        let fixed = fix(&input, &policies)?;
        let mut diff = Vec::new();
        pss_fix::report::diff::write(&mut diff, &file_name(&input_path), &input, &fixed, false)
            .map_err(|e| format!("diff: {e}"))?;
        let diff = String::from_utf8(diff).map_err(|e| format!("diff is not UTF-8: {e}"))?;
        let output_path = dir.join(format!("{level}.{extension}"));
        let diff_path = dir.join(format!("{level}.diff"));
        if bless {
            write(&output_path, &fixed)?;
            write(&diff_path, &diff)?;
            continue;
        }
        for (path, actual) in [(&output_path, &fixed), (&diff_path, &diff)] {
            let expected = read(path)?;
            if &expected != actual {
                failures.push(format!(
                    "{} differs:\n{}",
                    file_name(path),
                    byte_diff(&expected, actual)
                ));
            }
        }
        let again = fix(&fixed, &policies)?;
        if again != fixed {
            failures.push(format!(
                "fixing the {level} output again changes it (I3):\n{}",
                byte_diff(&fixed, &again)
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// The fixed text (the input when nothing changes).
fn fix(input: &str, policies: &Policies) -> Result<String, String> {
    let manifest =
        Manifest::process(input, policies, Keep::FixedText).map_err(|e| format!("fix: {e}"))?;
    Ok(manifest.fixed.unwrap_or_else(|| input.to_owned()))
}

fn config(dir: &Path) -> Result<Config, String> {
    let path = dir.join("config.yaml");
    if !path.exists() {
        return Ok(Config::default());
    }
    let stream = pss_fix::yaml::Stream::parse(&read(&path)?).map_err(|e| format!("config: {e}"))?;
    let value = stream
        .documents()
        .first()
        .map(|document| document.value().clone())
        .unwrap_or_default();
    Config::from_value(&value).map_err(|e| format!("config: {e}"))
}
