//! Rules of the code base the compiler cannot check, checked on the sources of
//! the core and of the R bindings: a broken invariant is an `Internal` error
//! (never a user's type error), and no `unreachable!` stands in for a case.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The non-test code of every source file of core and the bindings.
fn sources() -> Vec<(PathBuf, String)> {
    let core = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&core.join("src"), &mut files);
    rust_files(&core.join("../src"), &mut files);
    assert!(files.len() > 20, "found only {} source files", files.len());
    files
        .into_iter()
        .filter(|p| !p.ends_with("tests.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            // Unit tests sit at the end of a file, after `#[cfg(test)]`.
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            (p, code)
        })
        .collect()
}

#[test]
fn internal_errors_are_internal_not_type_errors() {
    for (path, code) in sources() {
        for bad in ["Type(\"internal", "Type(format!(\"internal", "Memory(\"internal"] {
            assert!(!code.contains(bad), "{}: an internal error raised as {bad}…: use MmError::Internal", path.display());
        }
    }
}

#[test]
fn no_unreachable_arms() {
    for (path, code) in sources() {
        assert!(!code.contains("unreachable!("), "{}: unreachable!() in non-test code", path.display());
    }
}
