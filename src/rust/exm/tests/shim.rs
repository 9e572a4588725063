//! Integration tests: a C test program (tests/prog.c) runs under the `exm`
//! launcher and the shim built by this package.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const EXM: &str = env!("CARGO_BIN_EXE_exm");

fn tmp_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Build the shim (cargo does not rebuild a cdylib-only library for
/// integration tests; the launcher finds it next to itself), then compile
/// tests/prog.c and tests/lib.c, once.
fn prog() -> &'static Path {
    static PROG: OnceLock<PathBuf> = OnceLock::new();
    PROG.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--lib", "-j", "1", "--manifest-path"]).arg(here.join("Cargo.toml"));
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        let st = cargo.status().expect("run cargo");
        assert!(st.success(), "building the shim failed");
        let shim = Path::new(EXM).with_file_name("libexm.so");
        assert!(shim.is_file(), "no shim at {}", shim.display());
        let include = here.join("../../../inst/include");
        let out = tmp_root().join("prog-build");
        std::fs::create_dir_all(&out).expect("create build dir");
        let lib = out.join("liblib.so");
        let st = Command::new("gcc")
            .args(["-O1", "-g", "-shared", "-fPIC", "-o"])
            .arg(&lib)
            .arg(here.join("tests/lib.c"))
            .status()
            .expect("run gcc");
        assert!(st.success(), "building lib.c failed");
        let exe = out.join("prog");
        let st = Command::new("gcc")
            .args(["-O1", "-g", "-Wall", "-Wno-alloc-size-larger-than", "-Wno-maybe-uninitialized", "-I"])
            .arg(&include)
            .arg("-o")
            .arg(&exe)
            .arg(here.join("tests/prog.c"))
            .arg(format!("-L{}", out.display()))
            .arg("-llib")
            .arg(format!("-Wl,-rpath,{}", out.display()))
            .args(["-lpthread", "-ldl"])
            .status()
            .expect("run gcc");
        assert!(st.success(), "building prog.c failed");
        exe
    })
}

/// A fresh, empty data directory for one test.
fn data_dir(name: &str) -> PathBuf {
    let d = tmp_root().join("data").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create data dir");
    d
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read data dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn exm(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::new(EXM);
    c.env_remove("EXM_THRESHOLD")
        .env_remove("EXM_PATH")
        .env_remove("EXM_FORK_MODE")
        .env_remove("EXM_STATS")
        .env_remove("LD_PRELOAD")
        .arg("--path")
        .arg(dir)
        .args(args);
    c
}

fn run_case(name: &str, opts: &[&str], case: &[&str]) -> Output {
    let dir = data_dir(name);
    let out = exm(opts, &dir).arg(prog()).args(case).output().expect("run exm");
    assert_eq!(files_in(&dir), Vec::<String>::new(), "files left in the data dir");
    out
}

fn assert_ok(out: &Output) {
    let so = String::from_utf8_lossy(&out.stdout);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && so.contains("ok"), "status {:?}\nstdout: {so}\nstderr: {se}", out.status);
}

#[test]
fn every_entry_point() {
    assert_ok(&run_case("entry", &["--threshold", "1MiB"], &["entry"]));
}

#[test]
fn steering_api() {
    let dir = data_dir("api");
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    let canon = std::fs::canonicalize(&dir).expect("canonicalize");
    let out = exm(&["--threshold", "1M"], &dir).arg(prog()).arg("api").arg(&canon).output().expect("run");
    assert_ok(&out);
    assert!(files_in(&dir).is_empty() && files_in(&dir.join("sub")).is_empty());
}

#[test]
fn released_files_are_reused_zeroed_and_never_shared() {
    let dir = data_dir("reuse");
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    let canon = std::fs::canonicalize(&dir).expect("canonicalize");
    let out = exm(&["--threshold", "1M"], &dir).arg(prog()).arg("reuse").arg(&canon).output().expect("run");
    assert_ok(&out);
    assert!(files_in(&dir).is_empty() && files_in(&dir.join("sub")).is_empty());
}

#[test]
fn threads() {
    assert_ok(&run_case("threads", &["--threshold", "1M"], &["threads"]));
}

#[test]
fn threshold_of_one_page() {
    assert_ok(&run_case("page", &["--threshold", "4096"], &["page"]));
}

#[test]
fn fork_private_is_a_true_snapshot() {
    for how in ["exit", "_exit", "free"] {
        assert_ok(&run_case("fork-private", &["--threshold", "1M", "--fork-mode", "private"], &["fork", "private", how]));
    }
}

#[test]
fn fork_private_is_the_default() {
    assert_ok(&run_case("fork-default", &["--threshold", "1M"], &["fork", "private", "free"]));
}

#[test]
fn fork_shared() {
    for how in ["exit", "_exit", "free"] {
        assert_ok(&run_case("fork-shared", &["--threshold", "1M", "--fork-mode", "shared"], &["fork", "shared", how]));
    }
}

#[test]
fn fork_duplicate() {
    for how in ["exit", "_exit", "free"] {
        assert_ok(&run_case(
            "fork-duplicate",
            &["--threshold", "1M", "--fork-mode", "duplicate"],
            &["fork", "duplicate", how],
        ));
    }
}

#[test]
fn dladdr_finds_the_shim() {
    assert_ok(&run_case("dladdr", &[], &["dladdr"]));
}

#[test]
fn cross_library_free() {
    assert_ok(&run_case("crosslib", &["--threshold", "1M"], &["crosslib"]));
}

#[test]
fn not_active_without_exm() {
    let out = Command::new(prog()).env_remove("LD_PRELOAD").arg("active").output().expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "inactive");
    let dir = data_dir("active");
    let out = exm(&[], &dir).arg(prog()).arg("active").output().expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "active");
}

#[test]
fn kill_9_leaves_no_file() {
    let dir = data_dir("kill");
    let mut child = exm(&["--threshold", "1M"], &dir)
        .arg(prog())
        .arg("hold")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
    assert!(line.starts_with("ready"), "got {line:?}");
    // The blocks exist (as open, unlinked files in the data dir) ...
    let canon = std::fs::canonicalize(&dir).expect("canonicalize");
    let fds = std::fs::read_dir(format!("/proc/{}/fd", child.id())).expect("proc fd");
    let in_dir = fds
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|t| t.starts_with(&canon))
        .count();
    assert_eq!(in_dir, 4, "expected 4 backing files open");
    // ... but have no name, before and after kill -9.
    assert!(files_in(&dir).is_empty());
    child.kill().expect("kill -9");
    let st = child.wait().expect("wait");
    assert_eq!(st.signal(), Some(9));
    assert!(files_in(&dir).is_empty());
}

#[test]
fn stats_at_exit() {
    let out = run_case("stats", &["--threshold", "1M", "--stats"], &["stats"]);
    assert!(out.status.success());
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(
        se.contains("exm: blocks 2 mapped in total, 1 still mapped (5242880 bytes), peak 5242880 bytes"),
        "stderr: {se}"
    );
    let out = run_case("stats-off", &["--threshold", "1M"], &["stats"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("exm:"));
}

/// Mount a small tmpfs at `dir` (root only); false when that is impossible.
fn mount_small_fs(dir: &Path) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn full_file_system_falls_back_instead_of_sigbus() {
    let dir = data_dir("full-fs");
    if !mount_small_fs(&dir) {
        eprintln!("cannot mount a small tmpfs (needs root): the file-size-limit variant below still runs");
        return;
    }
    let out = exm(&["--threshold", "1M"], &dir).arg(prog()).args(["full", "fs"]).output().expect("run exm");
    let left = files_in(&dir);
    let _ = Command::new("umount").arg(&dir).status();
    assert_ok(&out);
    assert!(left.is_empty(), "files left: {left:?}");
}

#[test]
fn file_size_limit_falls_back_without_sigxfsz() {
    let out = run_case("full-fsize", &["--threshold", "1M"], &["full", "fsize"]);
    assert_ok(&out);
}

#[test]
fn descriptor_reserve_keeps_files_and_libraries_usable() {
    // The descriptor limit is what stops exm: 20,000 live blocks under a
    // limit of 4,096.
    let out = run_case("fds-limit", &["--threshold", "4096"], &["fds", "4096", "20000"]);
    assert_ok(&out);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(se.contains("limit 4096:"), "{se}");
    // Whatever limits this system has: 30,000 live blocks.
    assert_ok(&run_case("fds-any", &["--threshold", "4096"], &["fds", "0", "30000"]));
}

fn env_report(opts: &[&str], env: &[(&str, &str)], dir: &Path) -> (Output, String) {
    let mut c = exm(&[], dir);
    // `exm()` passes --path; rebuild without it when the test wants env.
    if opts.contains(&"--no-path") {
        c = Command::new(EXM);
        c.env_remove("EXM_THRESHOLD").env_remove("EXM_PATH").env_remove("LD_PRELOAD").env_remove("TMPDIR");
        c.args(opts.iter().filter(|o| **o != "--no-path"));
    } else {
        c.args(opts);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.arg(prog()).arg("env").output().expect("run");
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, so)
}

#[test]
fn threshold_parsing() {
    let dir = data_dir("threshold");
    for (s, v) in [("2147483648", 2147483648u64), ("1e8", 100000000), ("2G", 2 << 30), ("512MiB", 512 << 20), ("64k", 65536)] {
        let (out, so) = env_report(&[], &[("EXM_THRESHOLD", s)], &dir);
        assert!(out.status.success());
        assert!(so.contains(&format!("threshold={v}\n")), "{s}: {so}");
        let (_, so) = env_report(&["--threshold", s], &[("EXM_THRESHOLD", "1G")], &dir);
        assert!(so.contains(&format!("threshold={v}\n")), "{s}: {so}");
    }
    let (_, so) = env_report(&[], &[], &dir);
    assert!(so.contains("threshold=2147483648\n"), "default: {so}");
    for bad in ["lots", "2X", "1e", "100"] {
        let (out, so) = env_report(&[], &[("EXM_THRESHOLD", bad)], &dir);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(so.is_empty(), "the program must not start: {so}");
        let se = String::from_utf8_lossy(&out.stderr);
        assert!(se.contains("EXM_THRESHOLD") && se.contains(bad), "{se}");
    }
}

#[test]
fn path_precedence() {
    let d1 = std::fs::canonicalize(data_dir("prec-flag")).expect("dir");
    let d2 = std::fs::canonicalize(data_dir("prec-env")).expect("dir");
    let d3 = std::fs::canonicalize(data_dir("prec-tmp")).expect("dir");
    let (s1, s2, s3) = (d1.to_str().unwrap(), d2.to_str().unwrap(), d3.to_str().unwrap());
    // A directory the user chose reaches the program in EXM_PATH (so that
    // R keeps it); the default (TMPDIR, /tmp) does not.
    let (_, so) = env_report(&["--no-path", "--path", s1], &[("EXM_PATH", s2), ("TMPDIR", s3)], &d1);
    assert!(so.contains(&format!("path={s1}\n")) && so.contains(&format!("EXM_PATH={s1}\n")), "{so}");
    let (_, so) = env_report(&["--no-path"], &[("EXM_PATH", s2), ("TMPDIR", s3)], &d1);
    assert!(so.contains(&format!("path={s2}\n")) && so.contains(&format!("EXM_PATH={s2}\n")), "{so}");
    let (_, so) = env_report(&["--no-path"], &[("TMPDIR", s3)], &d1);
    assert!(so.contains(&format!("path={s3}\n")) && so.contains("EXM_PATH=(unset)\n"), "{so}");
    let (_, so) = env_report(&["--no-path"], &[("EXM_PATH", ""), ("TMPDIR", s3)], &d1);
    assert!(so.contains(&format!("path={s3}\n")) && so.contains("EXM_PATH=(unset)\n"), "{so}");
    let (_, so) = env_report(&["--no-path"], &[], &d1);
    assert!(so.contains("path=/tmp\n") && so.contains("EXM_PATH=(unset)\n"), "{so}");
    let (out, so) = env_report(&["--no-path"], &[("EXM_PATH", "/nonexistent/exm")], &d1);
    assert_eq!(out.status.code(), Some(2));
    assert!(so.is_empty() && String::from_utf8_lossy(&out.stderr).contains("/nonexistent/exm"));
}

#[test]
fn ld_preload_is_kept() {
    let dir = data_dir("preload");
    let lib = prog().with_file_name("liblib.so");
    let lib = lib.to_str().unwrap();
    let (out, so) = env_report(&[], &[("LD_PRELOAD", lib)], &dir);
    assert!(out.status.success());
    let line = so.lines().find(|l| l.starts_with("LD_PRELOAD=")).expect("line");
    let entries: Vec<&str> = line["LD_PRELOAD=".len()..].split(':').collect();
    assert_eq!(entries.len(), 2, "{line}");
    assert!(entries[0].ends_with("libexm.so"), "{line}");
    assert_eq!(entries[1], lib);
}

#[test]
fn exit_status_and_signals_pass_through() {
    let dir = data_dir("status");
    let st = exm(&[], &dir).arg(prog()).args(["exit", "42"]).status().expect("run");
    assert_eq!(st.code(), Some(42));
    let st = exm(&[], &dir).arg(prog()).args(["signal", "15"]).status().expect("run");
    assert_eq!(st.signal(), Some(15));
    let st = exm(&[], &dir).arg(prog()).args(["signal", "11"]).status().expect("run");
    assert_eq!(st.signal(), Some(11));
    let out = exm(&[], &dir).arg("/nonexistent/program").output().expect("run");
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot run '/nonexistent/program'"));
    // exec keeps the pid: the launcher is not a parent process in between.
    let out = exm(&[], &dir).args(["sh", "-c", "echo $$"]).stdout(Stdio::piped()).spawn().expect("spawn");
    let pid = out.id();
    let o = out.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), pid.to_string());
}

fn rscript() -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("Rscript"))
        .find(|p| p.is_file())
}

#[test]
fn r_mclapply_50_times() {
    let Some(rs) = rscript() else {
        eprintln!("Rscript not found: skipped");
        return;
    };
    let dir = data_dir("mclapply");
    let script = r#"
        x <- (1:2e6) + 0.5          # 16 MB: file-backed
        want <- sum(x) + 1:8
        for (k in 1:50) {
          y <- parallel::mclapply(1:8, function(i) {
            z <- x * 2                  # more file-backed blocks in the child
            sum(z) / 2 + i
          }, mc.cores = 2)
          stopifnot(identical(unlist(y), want))
          x[1] <- x[1]                  # the parent writes while it can
          invisible(gc())
        }
        cat("done\n")
    "#;
    // Shared mode is left out on purpose: there the children's garbage
    // collector writes mark bits into the parent's vectors, which R cannot
    // survive (that is what "shared" means; see README).
    for mode in ["private", "duplicate"] {
        let out = exm(&["--threshold", "64K", "--fork-mode", mode], &dir)
            .arg(&rs)
            .args(["--vanilla", "-e", script])
            .output()
            .expect("run Rscript");
        let so = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && so.contains("done"),
            "{mode}: {:?}\n{so}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(files_in(&dir).is_empty(), "{mode}: files left");
    }
}
