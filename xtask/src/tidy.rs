//! `cargo xtask tidy`: the house rules the compiler does not check, run
//! first by `cargo xtask test`.
//!
//! - Dependency arrows point down: every crate's normal `[dependencies]` on
//!   workspace crates are to crates of a lower layer of ARCHITECTURE.md's
//!   "Layers" table, and every member is in exactly one layer. `delta-test`
//!   is only ever a dev-dependency.
//! - Every crate has a crate doc (`//!` first in `src/lib.rs` or
//!   `src/main.rs`), a README.md, and a `### <crate>` paragraph in
//!   ARCHITECTURE.md.
//! - No Rust source file is longer than [`MAX_LINES`] lines.
//! - Nothing refers to files outside the repository (a sibling `shared`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The longest a `.rs` file may be.
pub const MAX_LINES: usize = 800;

/// The crate only tests may depend on.
const TEST_SUPPORT: &str = "delta-test";

/// Text that points outside the repository (split so this file passes).
const OUTSIDE: &str = concat!("../", "shared");

/// Runs every check; the error lists every violation.
pub fn tidy(root: &Path) -> Result<(), String> {
    let members = members(root)?;
    let architecture = read(&root.join("ARCHITECTURE.md"))?;
    let mut problems = Vec::new();
    problems.extend(check_layers(root, &members, &architecture)?);
    for member in &members {
        problems.extend(check_docs(root, member, &architecture));
    }
    let files = rust_files(root, &members)?;
    problems.extend(check_lengths(root, &files)?);
    problems.extend(check_outside(root, &members)?);
    if problems.is_empty() {
        eprintln!(
            "xtask: tidy: {} crates, {} Rust files: layers, docs, lengths fine",
            members.len(),
            files.len()
        );
        Ok(())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// The workspace members, as listed in the root Cargo.toml.
fn members(root: &Path) -> Result<Vec<String>, String> {
    let manifest = read(&root.join("Cargo.toml"))?;
    let start = manifest
        .find("\nmembers = [")
        .ok_or("the root Cargo.toml has no `members = [`")?;
    let list = &manifest[start + "\nmembers = [".len()..];
    let end = list.find(']').ok_or("the members list is not closed")?;
    Ok(list[..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect())
}

/// Which kind of dependency table a manifest section header opens:
/// `[dependencies]`, `[dependencies.NAME]`, `[build-dependencies]`,
/// `[target.'cfg(..)'.dependencies]` and so on; `None` for other sections.
fn dependency_kind(header: &str) -> Option<(&'static str, Option<String>)> {
    let inner = header.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    // a target's tables count as the plain ones
    let inner = match inner.strip_prefix("target.") {
        Some(rest) => rest.rsplit_once('.').map_or(rest, |(_, kind)| kind),
        None => inner,
    };
    for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if inner == kind {
            return Some((kind, None));
        }
        if let Some(name) = inner.strip_prefix(kind).and_then(|r| r.strip_prefix('.')) {
            return Some((kind, Some(name.trim_matches('"').to_string())));
        }
    }
    None
}

/// The workspace crates a manifest depends on in tables of `kind`
/// (`dependencies`, `dev-dependencies`, `build-dependencies`), under their
/// package names (a `package = "..."` rename counts as the package).
fn workspace_deps(manifest: &str, kind: &str, members: &[String]) -> Vec<String> {
    let mut deps = Vec::new();
    let mut section: Option<(&str, Option<String>)> = None;
    let member = |name: &str| members.iter().find(|m| *m == name).cloned();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = dependency_kind(line);
            if let Some((k, Some(name))) = &section
                && *k == kind
                && let Some(m) = member(name)
            {
                deps.push(m);
            }
            continue;
        }
        let Some((k, None)) = &section else {
            continue;
        };
        if *k != kind || line.starts_with('#') || line.is_empty() {
            continue;
        }
        let key = line
            .split(['=', '.'])
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        let package = line
            .split_once("package")
            .and_then(|(_, rest)| rest.split('"').nth(1));
        if let Some(m) = member(package.unwrap_or(key)) {
            deps.push(m);
        }
    }
    deps.sort();
    deps.dedup();
    deps
}

/// The "Layers" table of ARCHITECTURE.md: `| <number> | crate, crate |`
/// rows under a `## Layers` heading.
fn layers(architecture: &str) -> Result<BTreeMap<String, u32>, String> {
    let section = architecture
        .split("\n## ")
        .find(|s| s.starts_with("Layers"))
        .ok_or("ARCHITECTURE.md has no `## Layers` section")?;
    let mut layer_of = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let [number, crates] = cells[..] else {
            continue;
        };
        let Ok(number) = number.parse::<u32>() else {
            continue; // the header and the separator
        };
        for name in crates.split(',').map(|c| c.trim().trim_matches('`')) {
            if layer_of.insert(name.to_string(), number).is_some() {
                return Err(format!("ARCHITECTURE.md's Layers list {name} twice"));
            }
        }
    }
    Ok(layer_of)
}

fn check_layers(
    root: &Path,
    members: &[String],
    architecture: &str,
) -> Result<Vec<String>, String> {
    let layer_of = layers(architecture)?;
    let mut problems = Vec::new();
    for member in members {
        let Some(&layer) = layer_of.get(member) else {
            problems.push(format!("{member} is in no layer of ARCHITECTURE.md"));
            continue;
        };
        let manifest = read(&root.join(member).join("Cargo.toml"))?;
        let normal = workspace_deps(&manifest, "dependencies", members);
        let build = workspace_deps(&manifest, "build-dependencies", members);
        for dep in normal.into_iter().chain(build) {
            if dep == TEST_SUPPORT {
                problems.push(format!(
                    "{member} depends on {TEST_SUPPORT}, which is for dev-dependencies only"
                ));
            }
            match layer_of.get(&dep) {
                Some(&below) if below < layer => {}
                Some(&other) => problems.push(format!(
                    "{member} (layer {layer}) depends on {dep} (layer {other}): arrows point down"
                )),
                None => problems.push(format!("{dep} is in no layer of ARCHITECTURE.md")),
            }
        }
    }
    for name in layer_of.keys() {
        if !members.contains(name) {
            problems.push(format!(
                "ARCHITECTURE.md's Layers name {name}, which is no workspace member"
            ));
        }
    }
    Ok(problems)
}

fn check_docs(root: &Path, member: &str, architecture: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let dir = root.join(member);
    let entry = ["src/lib.rs", "src/main.rs"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let documented = entry
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .is_some_and(|text| text.trim_start().starts_with("//!"));
    if !documented {
        problems.push(format!(
            "{member}: no crate doc (`//!` first in src/lib.rs or src/main.rs)"
        ));
    }
    if !dir.join("README.md").is_file() {
        problems.push(format!("{member}: no README.md"));
    }
    let heading = format!("\n### {member}\n");
    if !architecture.contains(&heading) {
        problems.push(format!(
            "{member}: no `### {member}` paragraph in ARCHITECTURE.md"
        ));
    }
    problems
}

/// Every file below `dirs` (never inside a `target/` directory), sorted.
fn files_under(mut dirs: Vec<PathBuf>) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("listing {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    dirs.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every `.rs` file of the members (not `target/`).
fn rust_files(root: &Path, members: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut files = files_under(members.iter().map(|m| root.join(m)).collect())?;
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    Ok(files)
}

fn check_lengths(root: &Path, files: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for file in files {
        let lines = read(file)?.lines().count();
        if lines > MAX_LINES {
            let shown = file.strip_prefix(root).unwrap_or(file);
            problems.push(format!(
                "{} has {lines} lines (at most {MAX_LINES}): split it along its seams",
                shown.display()
            ));
        }
    }
    Ok(problems)
}

/// Text files of the repository that name a path outside it.
fn check_outside(root: &Path, members: &[String]) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let mut dirs: Vec<PathBuf> = members.iter().map(|m| root.join(m)).collect();
    dirs.extend([root.join(".ci"), root.join("examples")]);
    dirs.retain(|d| d.is_dir());
    let mut files = files_under(dirs)?;
    files.extend(
        [
            "README.md",
            "ARCHITECTURE.md",
            "BENCHMARKS.md",
            "Cargo.toml",
            "rustfmt.toml",
            "clippy.toml",
            "testdata/README.md",
        ]
        .iter()
        .map(|f| root.join(f))
        .filter(|p| p.is_file()),
    );
    for file in files {
        // bytes, so that files that are not UTF-8 are searched too
        let bytes = std::fs::read(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
        if let Some(line) = bytes
            .split(|b| *b == b'\n')
            .position(|l| l.windows(OUTSIDE.len()).any(|w| w == OUTSIDE.as_bytes()))
        {
            let shown = file.strip_prefix(root).unwrap_or(&file);
            problems.push(format!(
                "{}:{}: refers to {OUTSIDE}, outside the repository",
                shown.display(),
                line + 1
            ));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS: &[&str] = &["a", "b", "delta-test"];

    fn members() -> Vec<String> {
        MEMBERS.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn reads_the_dependency_sections() {
        let manifest = "[package]\nname = \"c\"\n[dependencies]\nb = { path = \"../b\" }\n\
                        serde = \"1\"\n# a.workspace = true\n[dev-dependencies]\n\
                        delta-test.workspace = true\n[target.'cfg(unix)'.dependencies]\n\
                        renamed = { package = \"a\", path = \"../a\" }\n[dependencies.\"b\"]\n\
                        path = \"../b\"\n[build-dependencies]\na.workspace = true\n";
        assert_eq!(
            workspace_deps(manifest, "dependencies", &members()),
            ["a", "b"]
        );
        assert_eq!(
            workspace_deps(manifest, "dev-dependencies", &members()),
            ["delta-test"]
        );
        assert_eq!(
            workspace_deps(manifest, "build-dependencies", &members()),
            ["a"]
        );
    }

    #[test]
    fn reads_the_layers_table() {
        let text = "# A\n\n## Layers\n\n| layer | crates |\n|---|---|\n| 1 | `b` |\n| 0 | a, delta-test |\n\n## Next\n| 9 | c |\n";
        let layer_of = layers(text).unwrap();
        assert_eq!(layer_of.len(), 3);
        assert_eq!(layer_of["a"], 0);
        assert_eq!(layer_of["b"], 1);
        assert!(layers("## Layers\n| 0 | a |\n| 1 | a |\n").is_err());
        assert!(layers("no table").is_err());
    }
}
