//! `exm`: run a program with its large allocations on disk.
//!
//! The launcher checks its options, finds the shim next to itself, sets
//! `LD_PRELOAD` (keeping existing entries) and the `EXM_*` variables, and
//! replaces itself with the program (`execvp`), so the program's exit status
//! and signals reach the caller unchanged.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const SHIM_NAME: &str = "libexm.so";
const USAGE: &str = "\
usage: exm [--threshold SIZE] [--path DIR] [--fork-mode MODE] [--stats] <program> [args...]

Runs <program> with every allocation of at least SIZE bytes placed in an
unlinked file in DIR, mapped into memory.

options:
  --threshold SIZE   allocation size sent to disk (default 2GiB, or EXM_THRESHOLD);
                     2147483648, 1e8, 2G, 512MiB (K/M/G/T and KiB/MiB/GiB/TiB are binary)
  --path DIR         directory for the files (default EXM_PATH, then TMPDIR, then /tmp)
  --fork-mode MODE   private (default), shared or duplicate (or EXM_FORK_MODE)
  --stats            print mapped blocks, bytes and peak to stderr at exit
  --version          print the version
  -h, --help         print this help
";

#[derive(Debug, PartialEq, Eq)]
struct Config {
    threshold: u64,
    /// The data directory (absolute), checked before the program starts.
    path: PathBuf,
    /// Did the user choose it (`--path` or `EXM_PATH`)? Only then is it
    /// passed on in `EXM_PATH`: programs that pick their own default (R
    /// moves the files to its session directory) must keep a user's choice.
    path_chosen: bool,
    fork_mode: String,
    stats: bool,
    program: OsString,
    args: Vec<OsString>,
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Run(Config),
    Help,
    Version,
}

fn parse_threshold(s: &OsStr, origin: &str) -> Result<u64, String> {
    exm_size::parse_threshold(s.as_bytes())
        .map_err(|e| format!("invalid threshold {} '{}': {}", origin, s.to_string_lossy(), e.message()))
}

fn parse_mode(s: &OsStr, origin: &str) -> Result<String, String> {
    match s.to_str() {
        Some(m @ ("private" | "shared" | "duplicate")) => Ok(m.to_string()),
        _ => Err(format!(
            "invalid fork mode {} '{}': use private, shared or duplicate",
            origin,
            s.to_string_lossy()
        )),
    }
}

/// Parse the command line; `env` looks up environment variables.
fn parse(args: &[OsString], env: &dyn Fn(&str) -> Option<OsString>) -> Result<Parsed, String> {
    let mut threshold: Option<u64> = None;
    let mut path: Option<OsString> = None;
    let mut mode: Option<String> = None;
    let mut stats = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_bytes();
        if a == b"--" {
            i += 1;
            break;
        }
        if !a.starts_with(b"-") || a == b"-" {
            break;
        }
        let (name, inline) = match a.iter().position(|&c| c == b'=') {
            Some(k) if a.starts_with(b"--") => (&a[..k], Some(OsStr::from_bytes(&a[k + 1..]).to_os_string())),
            _ => (a, None),
        };
        let mut value = |what: &str| -> Result<OsString, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i).cloned().ok_or_else(|| format!("option {what} needs a value"))
        };
        match name {
            b"--threshold" => threshold = Some(parse_threshold(&value("--threshold")?, "given to --threshold")?),
            b"--path" => path = Some(value("--path")?),
            b"--fork-mode" => mode = Some(parse_mode(&value("--fork-mode")?, "given to --fork-mode")?),
            b"--stats" if inline.is_none() => stats = true,
            b"-h" | b"--help" => return Ok(Parsed::Help),
            b"--version" => return Ok(Parsed::Version),
            _ => return Err(format!("unknown option '{}'", args[i].to_string_lossy())),
        }
        i += 1;
    }
    let Some(program) = args.get(i).cloned() else {
        return Err("no program given".to_string());
    };
    let threshold = match threshold {
        Some(t) => t,
        None => match env("EXM_THRESHOLD").filter(|v| !v.is_empty()) {
            Some(v) => parse_threshold(&v, "in EXM_THRESHOLD")?,
            None => exm_size::DEFAULT_THRESHOLD,
        },
    };
    let fork_mode = match mode {
        Some(m) => m,
        None => match env("EXM_FORK_MODE").filter(|v| !v.is_empty()) {
            Some(v) => parse_mode(&v, "in EXM_FORK_MODE")?,
            None => "private".to_string(),
        },
    };
    let (dir, origin) = if let Some(p) = path {
        (p, "--path")
    } else if let Some(p) = env("EXM_PATH").filter(|v| !v.is_empty()) {
        (p, "EXM_PATH")
    } else if let Some(p) = env("TMPDIR").filter(|v| !v.is_empty()) {
        (p, "TMPDIR")
    } else {
        (OsString::from("/tmp"), "the default")
    };
    let path = check_dir(Path::new(&dir), origin)?;
    Ok(Parsed::Run(Config {
        threshold,
        path,
        path_chosen: matches!(origin, "--path" | "EXM_PATH"),
        fork_mode,
        stats,
        program,
        args: args[i + 1..].to_vec(),
    }))
}

/// The data directory must exist and be writable; returns its absolute path.
fn check_dir(dir: &Path, origin: &str) -> Result<PathBuf, String> {
    let abs = std::fs::canonicalize(dir)
        .map_err(|e| format!("data directory '{}' (from {origin}) is not usable: {e}", dir.display()))?;
    if !abs.is_dir() {
        return Err(format!("data directory '{}' (from {origin}) is not a directory", dir.display()));
    }
    let c = std::ffi::CString::new(abs.as_os_str().as_bytes())
        .map_err(|_| format!("data directory '{}' contains a NUL byte", dir.display()))?;
    // SAFETY: `c` is a valid NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        return Err(format!(
            "data directory '{}' (from {origin}) is not writable: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(abs)
}

/// The shim: `EXM_SHIM` if set, else next to the launcher, else `../lib`.
fn find_shim() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("EXM_SHIM").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(format!("EXM_SHIM '{}' does not exist", p.display())) };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the exm executable: {e}"))?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let dir = exe.parent().unwrap_or(Path::new("/"));
    let candidates = [dir.join(SHIM_NAME), dir.join("../lib").join(SHIM_NAME), dir.join("../lib/exm").join(SHIM_NAME)];
    for c in &candidates {
        if c.is_file() {
            return Ok(std::fs::canonicalize(c).unwrap_or_else(|_| c.clone()));
        }
    }
    Err(format!("cannot find {SHIM_NAME} next to {} or in {}", exe.display(), dir.join("../lib").display()))
}

/// New LD_PRELOAD: the shim first, existing entries kept (without a second
/// copy of the shim).
fn preload_value(shim: &Path, existing: Option<&OsStr>) -> OsString {
    let mut out = OsString::from(shim.as_os_str());
    if let Some(old) = existing {
        for entry in old.as_bytes().split(|&c| c == b':' || c == b' ') {
            if entry.is_empty() || entry == shim.as_os_str().as_bytes() {
                continue;
            }
            out.push(":");
            out.push(OsStr::from_bytes(entry));
        }
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let cfg = match parse(&args, &|k| std::env::var_os(k)) {
        Ok(Parsed::Run(c)) => c,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("exm {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("exm: {msg}\nRun 'exm --help' for usage.");
            return ExitCode::from(2);
        }
    };
    let shim = match find_shim() {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("exm: {msg}");
            return ExitCode::from(2);
        }
    };
    let mut cmd = Command::new(&cfg.program);
    cmd.args(&cfg.args)
        .env("LD_PRELOAD", preload_value(&shim, std::env::var_os("LD_PRELOAD").as_deref()))
        .env("EXM_THRESHOLD", cfg.threshold.to_string())
        .env("EXM_FORK_MODE", &cfg.fork_mode);
    // Without EXM_PATH the shim takes TMPDIR, then /tmp: the same directory
    // as checked above.
    if cfg.path_chosen {
        cmd.env("EXM_PATH", &cfg.path);
    } else {
        cmd.env_remove("EXM_PATH");
    }
    if cfg.stats {
        // exec keeps our pid: only the program itself reports, not its
        // forked children or the programs it runs.
        cmd.env("EXM_STATS", std::process::id().to_string());
    } else {
        cmd.env_remove("EXM_STATS");
    }
    let err = cmd.exec();
    eprintln!("exm: cannot run '{}': {err}", cfg.program.to_string_lossy());
    ExitCode::from(if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        match parse(&os(args), &|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| OsString::from(v)))? {
            Parsed::Run(c) => Ok(c),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&["prog", "a", "--b"], &[]).expect("parses");
        assert_eq!(c.threshold, 2 << 30);
        assert_eq!(c.path, PathBuf::from("/tmp"));
        assert_eq!(c.fork_mode, "private");
        assert!(!c.stats);
        assert_eq!(c.program, "prog");
        assert_eq!(c.args, os(&["a", "--b"]));
    }

    #[test]
    fn thresholds() {
        for (s, v) in [("2147483648", 2147483648u64), ("1e8", 100_000_000), ("2G", 2 << 30), ("512MiB", 512 << 20)] {
            assert_eq!(run(&["--threshold", s, "p"], &[]).expect("parses").threshold, v);
            assert_eq!(run(&["p"], &[("EXM_THRESHOLD", s)]).expect("parses").threshold, v);
        }
        assert_eq!(run(&["--threshold=4K", "p"], &[("EXM_THRESHOLD", "1G")]).expect("parses").threshold, 4096);
        let e = run(&["p"], &[("EXM_THRESHOLD", "lots")]).unwrap_err();
        assert!(e.contains("EXM_THRESHOLD") && e.contains("lots"), "{e}");
        let e = run(&["--threshold", "100", "p"], &[]).unwrap_err();
        assert!(e.contains("one page"), "{e}");
    }

    #[test]
    fn path_precedence() {
        let d1 = std::env::temp_dir().join("exm-prec-1");
        let d2 = std::env::temp_dir().join("exm-prec-2");
        let d3 = std::env::temp_dir().join("exm-prec-3");
        for d in [&d1, &d2, &d3] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let (s1, s2, s3) = (d1.to_str().unwrap(), d2.to_str().unwrap(), d3.to_str().unwrap());
        let env = [("EXM_PATH", s2), ("TMPDIR", s3)];
        let chosen = |args: &[&str], env: &[(&str, &str)]| {
            let c = run(args, env).expect("parses");
            (c.path, c.path_chosen)
        };
        assert_eq!(chosen(&["--path", s1, "p"], &env), (d1.clone(), true));
        assert_eq!(chosen(&["p"], &env), (d2.clone(), true));
        assert_eq!(chosen(&["p"], &env[1..]), (d3.clone(), false));
        assert_eq!(chosen(&["p"], &[]), (std::fs::canonicalize("/tmp").expect("/tmp"), false));
        let e = run(&["--path", "/nonexistent/exm", "p"], &[]).unwrap_err();
        assert!(e.contains("/nonexistent/exm"), "{e}");
        for d in [&d1, &d2, &d3] {
            let _ = std::fs::remove_dir(d);
        }
    }

    #[test]
    fn modes_and_errors() {
        assert_eq!(run(&["--fork-mode", "shared", "p"], &[]).expect("parses").fork_mode, "shared");
        assert_eq!(run(&["p"], &[("EXM_FORK_MODE", "duplicate")]).expect("parses").fork_mode, "duplicate");
        assert!(run(&["--fork-mode", "cow", "p"], &[]).unwrap_err().contains("cow"));
        assert!(run(&["--stats", "--", "--p"], &[]).expect("parses").stats);
        assert!(run(&[], &[]).unwrap_err().contains("no program"));
        assert!(run(&["--bogus", "p"], &[]).unwrap_err().contains("--bogus"));
        assert!(run(&["--threshold"], &[]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn preload_keeps_entries() {
        let shim = Path::new("/x/libexm.so");
        assert_eq!(preload_value(shim, None), "/x/libexm.so");
        assert_eq!(preload_value(shim, Some(OsStr::new("/a.so:/b.so"))), "/x/libexm.so:/a.so:/b.so");
        assert_eq!(preload_value(shim, Some(OsStr::new("/x/libexm.so /a.so"))), "/x/libexm.so:/a.so");
    }
}
