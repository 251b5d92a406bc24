//! The house's layering, checked on the source and on the built binary: no import circle
//! between the top-level modules of `src/`, and commands that neither speak nor listen load
//! neither engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::helpers::{random_hex, redis_url};

/// Top-level module → the top-level modules it names as `crate::X`, outside `#[cfg(test)]`
/// (test modules may reach anywhere), the way `../shared/tools/module_cycles.py` reads them.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    let path_start = concat!("crate", "::");
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel.components().next().unwrap().as_os_str().to_string_lossy();
            let me = first.trim_end_matches(".rs").to_owned();
            if me == "main" || me == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (at, _) in code.match_indices(path_start) {
                if at > 0 && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let name: String = code[at + path_start.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !name.is_empty() && name != me {
                    edges.entry(me.clone()).or_default().insert(name);
                }
            }
        }
    }
    edges
}

/// One import circle, as the modules along it, if there is any.
fn a_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|m| m == at) {
            let mut circle = path[i..].to_vec();
            circle.push(at.to_owned());
            return Some(circle);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_owned());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(at.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_circle_between_the_top_level_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = imports(&src);
    assert!(
        edges
            .get("server")
            .is_some_and(|e| e.contains("http") && e.contains("jobs")),
        "the reading found the server's imports: {edges:?}"
    );
    let importing_both: Vec<_> = edges
        .iter()
        .filter(|(_, e)| e.contains("http") && e.contains("jobs"))
        .map(|(m, _)| m.as_str())
        .collect();
    assert_eq!(
        importing_both,
        ["server"],
        "only the server wires the edge and the jobs together"
    );
    if let Some(circle) = a_circle(&edges) {
        panic!("import circle: {}", circle.join(" -> "));
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(a_circle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(a_circle(&edges).map(|c| c.len()), Some(4));
}

/// `hotline migrate` and `hotline roster list` with a voice and a Whisper model configured that would each log (and
/// fail) if they were loaded: it prints the roster without touching either.
#[test]
fn roster_list_loads_neither_the_voice_nor_speech_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(args)
            .env("HOTLINE_DATA_DIR", dir.path())
            .env(
                "HOTLINE_DATABASE_URL",
                format!("sqlite://{}?mode=rwc", dir.path().join("hotline.db").display()),
            )
            .env("HOTLINE_REDIS_URL", redis_url())
            .env("HOTLINE_REDIS_PREFIX", format!("hotline-layers-{}", random_hex(6)))
            .env("HOTLINE_SPEECH_ENGINE", "neural")
            .env("HOTLINE_SPEECH_VOICE_DIR", dir.path().join("no-voice-here"))
            .env("HOTLINE_WHISPER_MODEL", dir.path().join("no-model-here.bin"))
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    };
    for command in [&["migrate"][..], &["roster", "list"]] {
        let out = run(command);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{command:?} failed: {log}");
        for loaded in ["speech output", "speech input"] {
            assert!(!log.contains(loaded), "{command:?} loaded {loaded}: {log}");
        }
    }
}
