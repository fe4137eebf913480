//! The documents cannot rot: every fenced block of the documents below is
//! checked by some test.
//!
//! - `rust` blocks are doctests of the `seawall` crate (the documents are
//!   included by doc-only items in `std-adapter/src/lib.rs`); `rust,no_run`
//!   ones are compiled, not run (they need a Redis server).
//! - `python` blocks are run by `python/tests/test_docs.py` (those of
//!   docs/SHARED_STATE.md by `python/tests/test_redis.py`, against a server).
//! - `toml` blocks are dependency lines: the package and its features exist;
//!   `toml,scenario` blocks are simulator scenarios, run by `sim/tests/docs.rs`.
//! - `rust,ignore` blocks are firmware: this file checks that each is a
//!   verbatim excerpt of the file its first line names, a file the embassy CI
//!   stage builds and runs under QEMU.
//! - `json` blocks must parse; `cargo run` commands in `sh` and `text` blocks
//!   must name a real package and example or binary, with the features the
//!   example requires; relative links must point at files that exist.
//! - Any other language tag, or none, fails: it would be checked by nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The documents whose every block is checked.
const DOCUMENTS: [&str; 11] = [
    "README.md",
    "docs/CIRCUIT_BREAKER_GUIDE.md",
    "docs/SIMULATOR.md",
    "docs/ADAPTIVE.md",
    "docs/MONITORING.md",
    "docs/SHARED_STATE.md",
    "docs/BENCHMARKS.md",
    "python/README.md",
    "core/README.md",
    "std-adapter/README.md",
    "embassy-adapter/README.md",
];

/// The tags a block may have, and who checks it.
const TAGS: [&str; 11] = [
    "rust",          // doctests of the seawall crate
    "rust,no_run",   // doctests compiled, not run (they need a server)
    "rust,ignore",   // firmware excerpts, checked here
    "python",        // python/tests/test_docs.py
    "json",          // parsed here
    "toml",          // dependency lines, checked here
    "toml,scenario", // simulator scenarios, run by sim/tests/docs.rs
    "sh",            // cargo commands checked here
    "text",          // output, diagrams (cargo commands checked here)
    "yaml",          // configuration for other tools (Prometheus rules)
    "promql",        // queries for Prometheus
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fenced code block: its document, its first line (1-based), its tag and body.
#[derive(Debug)]
struct Block {
    document: &'static str,
    line: usize,
    tag: String,
    body: String,
}

impl Block {
    fn at(&self) -> String {
        format!("{}:{}", self.document, self.line)
    }
}

/// The fenced blocks of a Markdown document (fences of three or more
/// backticks, at any indentation, closed by the same fence).
fn blocks(document: &'static str) -> Vec<Block> {
    let text = read(document);
    let mut blocks = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if trimmed.starts_with("```") {
                    let fence_len = trimmed.chars().take_while(|&c| c == '`').count();
                    let fence = "`".repeat(fence_len);
                    let tag = trimmed[fence_len..].trim().to_string();
                    open = Some((
                        fence,
                        Block {
                            document,
                            line: index + 1,
                            tag,
                            body: String::new(),
                        },
                    ));
                }
            }
            Some((fence, block)) => {
                if trimmed.trim_end() == fence.as_str() {
                    let (_, block) = open.take().expect("a block is open");
                    blocks.push(block);
                } else {
                    block.body.push_str(line);
                    block.body.push('\n');
                }
            }
        }
    }
    if let Some((_, block)) = open {
        panic!("{}: a code block is never closed", block.at());
    }
    blocks
}

fn all_blocks() -> Vec<Block> {
    DOCUMENTS.into_iter().flat_map(blocks).collect()
}

#[test]
fn every_block_has_a_checked_language() {
    let blocks = all_blocks();
    assert!(blocks.len() > 20, "found only {} blocks", blocks.len());
    let bad: Vec<String> = blocks
        .iter()
        .filter(|b| !TAGS.contains(&b.tag.as_str()))
        .map(|b| format!("{}: ```{}", b.at(), b.tag))
        .collect();
    assert!(
        bad.is_empty(),
        "blocks with a tag no test checks (allowed: {TAGS:?}):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_rust_blocks_are_doctests() {
    // The documents are compiled by rustdoc only if the seawall crate
    // includes them.
    let lib = read("std-adapter/src/lib.rs");
    // The guide is the crate's `guide` module, read through a link in the
    // crate's directory so that the published package carries it.
    let guide = read("std-adapter/src/guide.rs");
    let guide_link = fs::canonicalize(root().join("std-adapter/CIRCUIT_BREAKER_GUIDE.md")).ok();
    let rendered = |document: &str| {
        guide.contains("include_str!(\"../CIRCUIT_BREAKER_GUIDE.md\")")
            && guide_link.is_some()
            && guide_link == fs::canonicalize(root().join(document)).ok()
    };
    let blocks = all_blocks();
    let is_rust = |b: &&Block| b.tag == "rust" || b.tag == "rust,no_run";
    for document in DOCUMENTS
        .into_iter()
        .filter(|d| blocks.iter().filter(is_rust).any(|b| b.document == *d))
    {
        let include = format!("include_str!(\"../../{document}\")");
        assert!(
            lib.contains(&include) || rendered(document),
            "std-adapter/src/lib.rs lacks {include}"
        );
    }
    // A doctest without `fn main` is wrapped by rustdoc in one; the documents
    // promise programs a reader can copy whole, so each has its own main.
    // Hidden lines (`# `) would show on GitHub as they are.
    for block in blocks.iter().filter(is_rust) {
        assert!(
            block.body.contains("fn main()"),
            "{}: a Rust block without fn main",
            block.at()
        );
        assert!(
            !block
                .body
                .lines()
                .any(|l| l.trim_start().starts_with("# ") || l.trim() == "#"),
            "{}: a Rust block with hidden lines",
            block.at()
        );
    }
}

#[test]
fn json_blocks_parse() {
    let mut checked = 0;
    for block in all_blocks().iter().filter(|b| b.tag == "json") {
        serde_json::from_str::<serde_json::Value>(&block.body)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", block.at()));
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn toml_blocks_name_real_packages_and_features() {
    // `name = { version = "..", features = [..] }`, as a user's Cargo.toml has it.
    let packages = packages();
    let mut checked = 0;
    for block in all_blocks().iter().filter(|b| b.tag == "toml") {
        for line in block.body.lines().filter(|l| !l.trim().is_empty()) {
            let at = format!("{}: `{line}`", block.at());
            let (name, spec) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{at}: not a dependency line"));
            let package = packages
                .get(name.trim())
                .unwrap_or_else(|| panic!("{at}: no package {} in the workspace", name.trim()));
            let features = tables(&package.manifest, "features");
            if let Some((_, list)) = spec.split_once("features") {
                let list = &list[list.find('[').expect("a list")..list.find(']').expect("a list")];
                for feature in list.split('"').skip(1).step_by(2) {
                    assert!(
                        features.iter().any(|f| f.contains_key(feature)),
                        "{at}: {} has no feature {feature}",
                        name.trim()
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// `lines` with the smallest common indentation removed (blank lines stay blank).
fn dedent(lines: &[&str]) -> Vec<String> {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                l[indent..].trim_end().to_string()
            }
        })
        .collect()
}

/// Where `excerpt` appears in `file` as consecutive lines (both dedented),
/// searching from line `from`: the line after it.
fn find_excerpt(file: &[&str], excerpt: &[&str], from: usize) -> Option<usize> {
    let want = dedent(excerpt);
    (from..=file.len().saturating_sub(excerpt.len()))
        .find(|&start| dedent(&file[start..start + excerpt.len()]) == want)
        .map(|start| start + excerpt.len())
}

#[test]
fn firmware_blocks_are_excerpts_of_built_firmware() {
    let mut checked = 0;
    for block in all_blocks().iter().filter(|b| b.tag == "rust,ignore") {
        let mut lines = block.body.lines();
        let first = lines.next().unwrap_or_default();
        let path = first.strip_prefix("// ").unwrap_or_else(|| {
            panic!(
                "{}: a rust,ignore block must name its source file in a first-line comment",
                block.at()
            )
        });
        assert!(
            path.starts_with("embassy-adapter/firmware/src/"),
            "{}: {path} is not firmware that CI builds (scripts/ci/35-embassy.sh)",
            block.at()
        );
        let source = read(path);
        let file: Vec<&str> = source.lines().collect();
        // `// ...` separates excerpts, which must follow each other in the file.
        let rest: Vec<&str> = lines.collect();
        let mut from = 0;
        for excerpt in rest.split(|l| l.trim() == "// ...") {
            let excerpt: Vec<&str> = trim_blank(excerpt);
            assert!(!excerpt.is_empty(), "{}: an empty excerpt", block.at());
            from = find_excerpt(&file, &excerpt, from).unwrap_or_else(|| {
                panic!(
                    "{}: this excerpt is not in {path} (verbatim, in order):\n{}",
                    block.at(),
                    excerpt.join("\n")
                )
            });
        }
        checked += 1;
    }
    assert!(checked > 0);
}

fn trim_blank<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(start), Some(end)) => lines[start..=end].to_vec(),
        _ => Vec::new(),
    }
}

/// A package of the workspace: its directory and Cargo.toml.
struct Package {
    dir: PathBuf,
    manifest: String,
}

/// The workspace's packages by name (the members of the root Cargo.toml).
fn packages() -> BTreeMap<String, Package> {
    let workspace = read("Cargo.toml");
    let members = workspace
        .lines()
        .find(|l| l.starts_with("members"))
        .expect("the workspace lists its members");
    let mut packages = BTreeMap::new();
    for member in members.split('"').skip(1).step_by(2) {
        let manifest = read(Path::new(member).join("Cargo.toml"));
        let name = table_values(&manifest, "package", "name")
            .pop()
            .unwrap_or_else(|| panic!("{member}/Cargo.toml has no package name"));
        packages.insert(
            name,
            Package {
                dir: root().join(member),
                manifest,
            },
        );
    }
    packages
}

/// The string values of `key` in every `[table]` or `[[table]]` of a manifest
/// (enough TOML for the keys read here: `key = "value"` or a list of strings).
fn table_values(manifest: &str, table: &str, key: &str) -> Vec<String> {
    tables(manifest, table)
        .iter()
        .filter_map(|entries| entries.get(key).cloned())
        .collect()
}

/// The `key = value` entries of every `[table]` or `[[table]]`, values unquoted
/// (a list becomes its items joined by commas).
fn tables(manifest: &str, table: &str) -> Vec<BTreeMap<String, String>> {
    let mut found = Vec::new();
    let mut current: Option<BTreeMap<String, String>> = None;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            found.extend(current.take());
            let name = line.trim_matches(|c| c == '[' || c == ']');
            if name == table {
                current = Some(BTreeMap::new());
            }
        } else if let Some(entries) = &mut current
            && let Some((key, value)) = line.split_once('=')
        {
            let items: Vec<&str> = value.split('"').skip(1).step_by(2).collect();
            entries.insert(key.trim().to_string(), items.join(","));
        }
    }
    found.extend(current);
    found
}

/// A `cargo run` command of a document.
#[derive(Debug, Default)]
struct CargoRun {
    package: Option<String>,
    example: Option<String>,
    bin: Option<String>,
    bench: Option<String>,
    features: Vec<String>,
}

fn parse_cargo_run(command: &str) -> CargoRun {
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut run = CargoRun::default();
    let mut i = 0;
    while i < words.len() {
        let (flag, inline) = match words[i].split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (words[i], None),
        };
        let mut value = || {
            inline.map(str::to_string).or_else(|| {
                i += 1;
                words.get(i).map(|w| w.to_string())
            })
        };
        match flag {
            "-p" | "--package" => run.package = value(),
            "--example" => run.example = value(),
            "--bin" => run.bin = value(),
            "--bench" => run.bench = value(),
            "-F" | "--features" => {
                let features = value().unwrap_or_default();
                run.features
                    .extend(features.split(',').map(|f| f.trim_matches('"').to_string()));
            }
            _ => {}
        }
        i += 1;
    }
    run
}

#[test]
fn cargo_commands_name_real_targets() {
    let packages = packages();
    let mut checked = 0;
    for block in all_blocks()
        .iter()
        .filter(|b| b.tag == "sh" || b.tag == "text")
    {
        for line in block.body.lines() {
            // The command itself, without a trailing comment or redirection.
            let Some(start) = line.find("cargo run").or(line.find("cargo bench")) else {
                continue;
            };
            let command = line[start..]
                .split(['#', '>', '|'])
                .next()
                .unwrap_or_default();
            let run = parse_cargo_run(command);
            let at = format!("{}: `{}`", block.at(), command.trim());
            let name = run
                .package
                .as_deref()
                .unwrap_or_else(|| panic!("{at}: name the package with -p"));
            let package = packages
                .get(name)
                .unwrap_or_else(|| panic!("{at}: no package {name} in the workspace"));
            if let Some(example) = &run.example {
                let declared = tables(&package.manifest, "example");
                let entry = declared.iter().find(|e| e.get("name") == Some(example));
                let file = package.dir.join("examples").join(format!("{example}.rs"));
                assert!(
                    entry.is_some() || file.exists(),
                    "{at}: {name} has no example {example}"
                );
                let required = entry
                    .and_then(|e| e.get("required-features"))
                    .map(|f| f.split(',').filter(|f| !f.is_empty()).collect::<Vec<_>>())
                    .unwrap_or_default();
                for feature in required {
                    assert!(
                        run.features.iter().any(|f| f == feature),
                        "{at}: the example needs --features {feature}"
                    );
                }
            }
            if let Some(bin) = &run.bin {
                let declared = table_values(&package.manifest, "bin", "name");
                let file = package.dir.join("src/bin").join(format!("{bin}.rs"));
                assert!(
                    declared.contains(bin) || file.exists() || bin == name,
                    "{at}: {name} has no binary {bin}"
                );
            }
            if let Some(bench) = &run.bench {
                let entry = tables(&package.manifest, "bench")
                    .into_iter()
                    .find(|e| e.get("name") == Some(bench));
                let file = package.dir.join("benches").join(format!("{bench}.rs"));
                assert!(file.exists(), "{at}: {name} has no bench {bench}");
                let required = entry
                    .and_then(|e| e.get("required-features").cloned())
                    .unwrap_or_default();
                for feature in required.split(',').filter(|f| !f.is_empty()) {
                    assert!(
                        run.features.iter().any(|f| f == feature),
                        "{at}: the bench needs --features {feature}"
                    );
                }
            }
            assert!(
                run.example.is_some() || run.bin.is_some() || run.bench.is_some(),
                "{at}: name the example, the binary or the bench"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "found only {checked} cargo run commands");
}

#[test]
fn no_document_speaks_of_the_project_requirements() {
    // What a user reads describes behaviour in its own words: "seed" means a
    // random-number seed, never the text the project grew from.
    let mut files: Vec<PathBuf> = DOCUMENTS.iter().map(|d| root().join(d)).collect();
    for dir in [
        "core/src",
        "std-adapter/src",
        "std-adapter/examples",
        "embassy-adapter/src",
        "python/seawall",
        "python/src",
    ] {
        files.extend(walk(&root().join(dir)));
    }
    let mut found = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap_or_default().to_lowercase();
        for phrase in ["the seed's", "in the seed", "of the seed"] {
            if text.contains(phrase) {
                found.push(format!("{}: \"{phrase}\"", file.display()));
            }
        }
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    assert!(
        found.is_empty(),
        "words of the requirements in:\n{}",
        found.join("\n")
    );
}

/// The files under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_readme_keeps_the_two_commands() {
    // CI's `.ci/run` runs the README's test command.
    let readme = read("README.md");
    let demo = "cargo run -p seawall --example tenant_cache";
    assert!(readme.contains("./scripts/test.sh"));
    assert!(readme.contains(demo));
    // The guide runs the same demo the same way.
    let guide = read("docs/CIRCUIT_BREAKER_GUIDE.md");
    let runs: Vec<&str> = guide
        .lines()
        .filter(|l| l.contains("--example tenant_cache"))
        .collect();
    assert!(
        !runs.is_empty() && runs.iter().all(|l| l.trim() == demo),
        "{runs:?}"
    );
    assert!(read(".ci/run").contains("./scripts/test.sh"));
}

#[test]
fn relative_links_point_at_files() {
    for document in DOCUMENTS {
        let text = read(document);
        let dir = Path::new(document).parent().unwrap_or(Path::new(""));
        let mut rest = text.as_str();
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            rest = &rest[end..];
            if let Some(anchor) = target.strip_prefix('#') {
                assert!(
                    anchors(&text).iter().any(|a| a == anchor),
                    "{document}: the link {target} names no heading of the document"
                );
                continue;
            }
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            assert!(
                root().join(dir).join(path).exists(),
                "{document}: the link {target} points at nothing"
            );
        }
    }
}

/// The anchors GitHub gives a document's headings: lower case, spaces as
/// hyphens, punctuation other than hyphens and underscores dropped.
fn anchors(text: &str) -> Vec<String> {
    let mut in_code = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            !in_code && line.starts_with('#')
        })
        .map(|line| {
            line.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}
