//! `racelab`: the detection matrix, the catalogue, and replay of printed failures.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use racelab::catalogue::{self, Entry};
use racelab::engine::{self, Check, Engine, EngineKind, Replay, Verdict};
use racelab::report::Report;
use std::path::PathBuf;
use std::process::ExitCode;

/// Concurrency bugs made visible: run the catalogue under every engine and print which engine
/// catches which bug.
#[derive(Parser, Debug)]
#[command(name = "racelab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Write the JSON report here (default: report.json).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "report.json", global = true)]
    json: Option<PathBuf>,
    /// Write the Markdown report here (default: report.md).
    #[arg(long, value_name = "PATH", global = true)]
    md: Option<PathBuf>,
    /// Only this family (e.g. `counter`).
    #[arg(long, global = true)]
    family: Option<String>,
    /// Only this variant (e.g. `LoadStoreCounter`).
    #[arg(long, global = true)]
    variant: Option<String>,
    /// Only these engines (repeat or comma-separate): loom, shuttle-random, shuttle-pct,
    /// shuttle-dfs, proptest, stress.
    #[arg(long, value_delimiter = ',', global = true)]
    engine: Vec<String>,
    /// Stress budget per scenario, in milliseconds.
    #[arg(long, value_name = "MS", global = true)]
    stress_ms: Option<u64>,
    /// Seed of the randomised engines (shuttle random and PCT, proptest).
    #[arg(long, global = true)]
    seed: Option<u64>,
    /// Execution budget of every engine (shuttle runs, DFS schedules, proptest cases, loom
    /// executions, stress rounds).
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// Time limit of each engine run (one scenario under one engine): `500ms`, `10s`, `2m`.
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_duration)]
    time_limit: Option<std::time::Duration>,
    /// Time limit of each matrix cell (all scenarios of an entry under one engine).
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_duration)]
    cell_time_limit: Option<std::time::Duration>,
    /// loom's preemption bound: a number, or `unbounded`.
    #[arg(long, value_name = "N", global = true, value_parser = parse_bound)]
    preemption_bound: Option<PreemptionBound>,
    /// PCT's adaptive budget: run until this confidence (0-1) for bugs of depth <= --pct-depth.
    #[arg(long, value_name = "C", global = true, value_parser = parse_confidence)]
    pct_confidence: Option<f64>,
    /// The bug depth PCT's adaptive budget covers.
    #[arg(long, value_name = "D", global = true, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=10))]
    pct_depth: u64,
    /// What counterexample traces record: `full` (every runtime operation), `story` (the
    /// structures' own steps), `off`.
    #[arg(long, value_name = "MODE", global = true, value_parser = parse_traces)]
    traces: Option<racelab::engine::Traces>,
    /// No progress bar.
    #[arg(long, global = true)]
    no_progress: bool,
    /// Model-checker cells to run at once (default: the available cores). Stress cells always
    /// run alone.
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: Option<u64>,
    /// Run only this share of the cells, in cargo-nextest's syntax: `hash:K/N` (by a hash of
    /// each cell's name) or `count:K/N` (every Nth cell). `racelab merge` puts the shards'
    /// reports back together.
    #[arg(long, value_name = "SCHEME:K/N", global = true)]
    partition: Option<racelab::shard::Partition>,
}

/// `--jobs`, or the available cores.
fn jobs(cli: &Cli) -> usize {
    cli.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    )
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the catalogue and print the detection matrix (the default).
    Run,
    /// List the catalogue: family, variant, racy or correct, story, scenarios.
    List,
    /// Reproduce a failure from the replay string a report printed.
    Replay {
        /// `family/variant/scenario/shuttle:…` or `…/loom:pbN:ITERATION`.
        token: String,
    },
    /// Lincheck-style: generate small concurrent programs of queue operations, run each under
    /// shuttle, judge every history, and shrink a failure to the smallest program.
    Explore {
        /// The queue variant (e.g. `LoadStoreIndexRing`).
        variant: String,
        /// Programs to generate.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
        programs: u32,
        /// shuttle schedules per program.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
        schedules: u64,
        /// Seed of the program and schedule generators.
        #[arg(long, default_value_t = 0x5eed)]
        seed: u64,
    },
    /// Summarise `cargo bench`: ns/op, ratios to the racy and atomic baselines, parallelism,
    /// targets; or compare two builds (saved with `--save-build`, or `current`) in interleaved
    /// rounds, exit 1 when a benchmark changed; or compare two saved criterion baselines.
    Bench {
        /// The baseline to read (`new` = the latest run; else a name saved with
        /// `cargo bench -- --save-baseline NAME`), or with `--compare` a build saved with
        /// `--save-build` (`current` = this racelab).
        #[arg(long, value_name = "NAME", default_value = "new")]
        baseline: String,
        /// Compare `--baseline` (before) with this one (after). Two builds are timed in
        /// interleaved rounds and judged by a sign test; two criterion baselines are
        /// compared as saved (sequential runs: noisy, see docs/benchmarks.md).
        #[arg(long, value_name = "NAME")]
        compare: Option<String>,
        /// Save this racelab executable as build NAME, for a later `--baseline NAME` or
        /// `--compare NAME`.
        #[arg(long, value_name = "NAME", conflicts_with = "compare")]
        save_build: Option<String>,
        /// Interleaved rounds of a build comparison (each: one process of each build).
        #[arg(long, value_name = "N", default_value_t = racelab::benchsum::paired::ROUNDS as u64,
              value_parser = clap::value_parser!(u64).range(racelab::benchsum::paired::MIN_PAIRS as u64..=10_000))]
        rounds: u64,
        /// The smallest change a build comparison flags, as a fraction (0.05 = 5%).
        #[arg(long, value_name = "F", default_value_t = racelab::benchsum::paired::MIN_EFFECT,
              value_parser = parse_effect)]
        min_effect: f64,
        /// Test-only: slow benchmark ID down by FRACTION on the `--compare` side.
        #[arg(long, value_name = "ID=FRACTION", hide = true)]
        test_slowdown: Option<racelab::benchsum::paired::Slowdown>,
        /// Write an SVG chart of ns/op against threads (default:
        /// <criterion dir>/racelab-ns-per-op.svg).
        #[arg(long, value_name = "PATH", num_args = 0..=1)]
        svg: Option<Option<PathBuf>>,
        /// Print the tables as Markdown.
        #[arg(long)]
        markdown: bool,
        /// criterion's output directory (default: $CRITERION_HOME, $CARGO_TARGET_DIR/criterion
        /// or target/criterion).
        #[arg(long, value_name = "DIR")]
        criterion_dir: Option<PathBuf>,
    },
    /// Redo the articles' experiments in Rust (threads, processes, async, the GIL) and print
    /// each figure beside the article's; writes racelab-seeds.{json,md,svg} beside the
    /// benchmark summary.
    Seeds {
        /// Only these experiments (repeat or comma-separate): lost-update, select, subprocess,
        /// cpu-bound, factorise, downloads, slow-connections, pipeline, executor.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Shrink every size (CI: the whole set in well under 2 minutes).
        #[arg(long)]
        quick: bool,
        /// Where racelab-seeds.{json,md,svg} go (default: criterion's directory, as for
        /// `racelab bench`). `--json PATH` and `--md PATH` override one file each.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Compare two detection reports (`--json` files): the results whose verdict changed, that
    /// only one has, or whose first failure moved by more than `--factor`. Exit 0 when there is
    /// none, 1 when there are, 2 on a bad file.
    Diff {
        /// The earlier report.
        old: PathBuf,
        /// The later report.
        new: PathBuf,
        /// How far executions-to-first-failure may move either way before it is listed.
        #[arg(long, default_value_t = 2.0, value_parser = parse_factor)]
        factor: f64,
    },
    /// Merge the `--json` reports of shards (`--partition`) or of separate runs into one matrix,
    /// one report (`--json`, `--md`) and one exit status: 0, 1 when a cell fails, 2 when the
    /// files do not fit together (another version, a shard twice or missing, a cell twice).
    Merge {
        /// The reports to merge.
        #[arg(required = true, num_args = 1..)]
        reports: Vec<PathBuf>,
    },
    /// The probe of a build comparison: greets, then times one run per `run ID` line on stdin
    /// and answers in JSON (not for people).
    #[command(hide = true)]
    BenchProbe,
    /// The child side of the experiments that start processes (not for people).
    #[command(hide = true)]
    SeedsChild {
        /// The work and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// A user error: printed as one line, exit code 2.
struct UsageError(String);

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 10s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s or m)")),
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is out of range"))
}

/// `--preemption-bound`: a number, or `unbounded` (`None`). A newtype, because clap's derive
/// reads a bare `Option<Option<_>>` as an optional value and panics on the parser's type.
#[derive(Debug, Clone, Copy)]
struct PreemptionBound(Option<usize>);

fn parse_bound(s: &str) -> Result<PreemptionBound, String> {
    if s == "unbounded" {
        return Ok(PreemptionBound(None));
    }
    s.parse()
        .map(|n| PreemptionBound(Some(n)))
        .map_err(|_| format!("`{s}` is not a preemption bound (a number, or `unbounded`)"))
}

fn parse_confidence(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|c| *c > 0.0 && *c < 1.0)
        .ok_or_else(|| format!("`{s}` is not a confidence strictly between 0 and 1"))
}

fn parse_traces(s: &str) -> Result<racelab::engine::Traces, String> {
    use racelab::engine::Traces;
    match s {
        "full" => Ok(Traces::Full),
        "story" => Ok(Traces::Story),
        "off" => Ok(Traces::Off),
        _ => Err(format!("unknown trace mode `{s}` (full, story or off)")),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("bad arguments");
            eprintln!("racelab: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(UsageError(m)) => {
            eprintln!("racelab: {m}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, UsageError> {
    match &cli.command {
        Some(Command::List) => {
            list(&selected(&cli)?);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Replay { token }) => replay(token),
        Some(Command::Explore {
            variant,
            programs,
            schedules,
            seed,
        }) => explore(variant, *programs, *schedules, *seed),
        Some(Command::Bench {
            baseline,
            compare,
            save_build,
            rounds,
            min_effect,
            test_slowdown,
            svg,
            markdown,
            criterion_dir,
        }) => bench(
            &cli,
            &BenchArgs {
                baseline,
                compare: compare.as_deref(),
                save_build: save_build.as_deref(),
                rounds: *rounds as usize,
                min_effect: *min_effect,
                test_slowdown: test_slowdown.as_ref(),
                svg: svg.as_ref(),
                markdown: *markdown,
                criterion_dir: criterion_dir.as_ref(),
            },
        ),
        Some(Command::BenchProbe) => bench_probe(&cli),
        #[cfg(not(loom))]
        Some(Command::Seeds {
            only,
            quick,
            out_dir,
        }) => seeds(&cli, only, *quick, out_dir.as_ref()),
        Some(Command::Diff { old, new, factor }) => diff(old, new, *factor),
        Some(Command::Merge { reports }) => merge(&cli, reports),
        #[cfg(not(loom))]
        Some(Command::SeedsChild { args }) => match racelab::seeds::child_main(args) {
            Ok(out) => {
                println!("{out}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(UsageError(e)),
        },
        #[cfg(loom)]
        Some(Command::Seeds { .. } | Command::SeedsChild { .. }) => Err(UsageError(
            "this racelab was built with --cfg loom (the deep loom run): `seeds` is not in it"
                .into(),
        )),
        Some(Command::Run) | None => run(&cli),
    }
}

fn parse_factor(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 1.0)
        .ok_or_else(|| format!("`{s}` is not a factor of at least 1"))
}

/// `racelab merge A.json B.json …`: one matrix, report and exit status from shards.
fn merge(cli: &Cli, files: &[PathBuf]) -> Result<ExitCode, UsageError> {
    let mut shards = Vec::new();
    for p in files {
        let text = std::fs::read_to_string(p)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", p.display())))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| UsageError(format!("{} is not JSON: {e}", p.display())))?;
        shards.push((p.display().to_string(), v));
    }
    let report = racelab::shard::merge(&shards).map_err(UsageError)?;
    println!(
        "merged {} reports: {} cells",
        files.len(),
        report.rows.len()
    );
    present(cli, &report)
}

/// `racelab diff OLD NEW`.
fn diff(old: &PathBuf, new: &PathBuf, factor: f64) -> Result<ExitCode, UsageError> {
    let read = |p: &PathBuf| -> Result<serde_json::Value, UsageError> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", p.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| UsageError(format!("{} is not JSON: {e}", p.display())))
    };
    let (before, after) = (read(old)?, read(new)?);
    let c = racelab::compare::compare(&before, &after).map_err(|e| UsageError(e.to_string()))?;
    let lines = c.diff_lines(factor);
    println!(
        "{} → {}: {} common results, {} listed (verdicts changed, one side only, first failure moved > {factor}×)",
        old.display(),
        new.display(),
        c.common,
        lines.len()
    );
    for note in &c.notes {
        println!("note: {note}");
    }
    for l in &lines {
        println!("{l}");
    }
    Ok(if lines.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(not(loom))]
/// `racelab seeds`: every selected experiment with a progress bar, one table, and the JSON,
/// Markdown and SVG files. Exit 1 if an experiment failed.
fn seeds(
    cli: &Cli,
    only: &[String],
    quick: bool,
    out_dir: Option<&PathBuf>,
) -> Result<ExitCode, UsageError> {
    use racelab::seeds::{self, Child, Context, Scale};
    let experiments = seeds::select(only).map_err(UsageError)?;
    let child = Child::this_racelab().map_err(UsageError)?;
    let scale = if quick { Scale::Quick } else { Scale::Full };
    let ctx = Context::new(scale, Some(child));
    let bar = if cli.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(experiments.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut started = 0;
    let report = seeds::run(&ctx, &experiments, |e| {
        bar.set_position(started);
        started += 1;
        bar.set_message(e.name);
    });
    bar.finish_and_clear();

    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "experiment",
        "variant",
        "article",
        "Rust",
        "vs baseline",
        "cores busy",
        "notes",
    ]);
    for r in &report.rows {
        t.add_row(r.cells());
    }
    println!(
        "racelab seeds on {} cores{}",
        report.cores,
        if quick { " (--quick sizes)" } else { "" }
    );
    println!("{t}");
    for e in &report.experiments {
        match &e.error {
            None => println!("- {} ({:.1} s): {}", e.name, e.seconds, e.lesson),
            Some(err) => println!("- {}: FAILED: {err}", e.name),
        }
    }

    let dir = out_dir
        .cloned()
        .unwrap_or_else(racelab::benchsum::default_criterion_dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| UsageError(format!("cannot create {}: {e}", dir.display())))?;
    let json = cli
        .json
        .clone()
        .unwrap_or_else(|| dir.join("racelab-seeds.json"));
    let md = cli
        .md
        .clone()
        .unwrap_or_else(|| dir.join("racelab-seeds.md"));
    let svg = dir.join("racelab-seeds.svg");
    let write = |p: &PathBuf, text: String| {
        std::fs::write(p, text)
            .map_err(|e| UsageError(format!("cannot write {}: {e}", p.display())))
    };
    write(&json, report.to_json())?;
    write(&md, report.to_markdown())?;
    seeds::write_svg(&svg, &report).map_err(UsageError)?;
    println!(
        "wrote {}, {} and {}",
        json.display(),
        md.display(),
        svg.display()
    );
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn selected(cli: &Cli) -> Result<Vec<Entry>, UsageError> {
    let mut entries = catalogue::catalogue();
    if let Some(f) = &cli.family {
        if !entries.iter().any(|e| e.family.eq_ignore_ascii_case(f)) {
            let mut fams: Vec<_> = entries.iter().map(|e| e.family).collect();
            fams.dedup();
            return Err(UsageError(format!(
                "unknown family `{f}` (known: {})",
                fams.join(", ")
            )));
        }
        entries.retain(|e| e.family.eq_ignore_ascii_case(f));
    }
    if let Some(v) = &cli.variant {
        let wanted = catalogue::find(v).map_err(UsageError)?;
        entries.retain(|e| e.key() == wanted.key());
        if entries.is_empty() {
            return Err(UsageError(format!(
                "variant `{v}` is not in the selected family"
            )));
        }
    }
    Ok(entries)
}

/// The engines the flags select, and the check (budgets, seeds, limits, traces) they set.
fn check(cli: &Cli) -> Result<(Vec<EngineKind>, Check), UsageError> {
    let kinds: Vec<EngineKind> = if cli.engine.is_empty() {
        EngineKind::ALL.to_vec()
    } else {
        cli.engine
            .iter()
            .map(|s| s.trim().parse::<EngineKind>().map_err(UsageError))
            .collect::<Result<_, _>>()?
    };
    let mut check = Check::new().engines(kinds.iter().copied());
    if let Some(ms) = cli.stress_ms
        && kinds.contains(&EngineKind::Stress)
        && let Engine::Stress(mut c) = check.engine_of(EngineKind::Stress)
    {
        c.time_budget = std::time::Duration::from_millis(ms);
        check = check.engine(Engine::Stress(c));
    }
    if let Some(seed) = cli.seed {
        check = check.seed(seed);
    }
    if let Some(n) = cli.runs {
        check = check.runs(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if let Some(PreemptionBound(b)) = cli.preemption_bound {
        check = check.preemption_bound(b);
    }
    if let Some(c) = cli.pct_confidence {
        check = check.pct_confidence(c, cli.pct_depth as usize);
    }
    if let Some(t) = cli.time_limit {
        check = check.time_limit(t);
    }
    if let Some(t) = cli.cell_time_limit {
        check = check.cell_time_limit(t);
    }
    if let Some(t) = cli.traces {
        check = check.traces(t);
    }
    Ok((kinds, check))
}

fn list(entries: &[Entry]) {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(vec!["family", "variant", "expected", "story", "scenarios"]);
    for e in entries {
        t.add_row(vec![
            e.family.to_string(),
            e.variant.to_string(),
            e.bug.map_or("correct".into(), |b| format!("racy: {b}")),
            e.story.to_string(),
            e.scenarios.names().join("; "),
        ]);
    }
    println!("{t}");
}

/// Set in the environment of a worker process of `--jobs`: it serves cells on stdin and stdout
/// ([`racelab::workers::serve`]) instead of running the matrix. A worker gets its parent's
/// command line, so its cells and check are the parent's.
const WORKER_ENV: &str = "RACELAB_CELL_WORKER";

fn run(cli: &Cli) -> Result<ExitCode, UsageError> {
    let entries = selected(cli)?;
    let (engines, check) = check(cli)?;
    let all = entries.len() * engines.len();
    let cells: Vec<(Entry, EngineKind)> = match cli.partition {
        Some(p) => p.cells(&entries, &engines),
        None => entries
            .iter()
            .flat_map(|e| engines.iter().map(move |&k| (e.clone(), k)))
            .collect(),
    };
    if std::env::var_os(WORKER_ENV).is_some() {
        let _silence = SilenceStderr::new();
        racelab::workers::serve(
            &cells,
            &check,
            std::io::stdin().lock(),
            std::io::BufWriter::new(replies()),
        )
        .map_err(|e| UsageError(format!("cell worker: {e}")))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut jobs = jobs(cli);
    let exe = match std::env::current_exe() {
        Ok(exe) => Some(exe),
        Err(e) if jobs > 1 => {
            println!("cannot find this racelab's executable ({e}): the cells run in this process");
            jobs = 1;
            None
        }
        Err(_) => None,
    };
    let worker = || {
        let mut cmd = std::process::Command::new(exe.as_deref().unwrap_or("racelab".as_ref()));
        cmd.args(std::env::args_os().skip(1)).env(WORKER_ENV, "1");
        cmd
    };
    // Progress goes to stdout: stderr is silenced while engines run (below).
    let bar = if cli.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(
            Some(cells.len() as u64),
            indicatif::ProgressDrawTarget::stdout(),
        )
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
            .expect("static template"),
    );
    let live = bar.clone();
    let check = check.progress(move |p| {
        live.set_message(format!(
            "{} `{}`: {} executions",
            p.engine,
            p.scenario,
            racelab::engine::stress::group(p.executions)
        ))
    });
    let silence = SilenceStderr::new();
    let mut report = racelab::workers::run_cells(&cells, &check, jobs, worker, |entry, kind| {
        bar.set_message(format!("{} × {kind}", entry.variant));
        bar.inc(1);
    });
    report.partition = cli.partition;
    drop(silence);
    bar.finish_and_clear();
    if let Some(p) = cli.partition {
        println!("shard {p}: {} of {all} cells", cells.len());
    }
    present(cli, &report)
}

/// Prints the matrix, the counterexamples and the failures, writes the JSON and Markdown
/// reports, and gives the exit status: 0, or 1 when a cell fails the run.
fn present(cli: &Cli, report: &Report) -> Result<ExitCode, UsageError> {
    println!("{}", report.matrix());
    println!(
        "cells: caught @N = first failure at execution N; seen k in N = stress rounds with the \
         forbidden outcome; deadlock/hang @N = the stress watchdog's verdict in round N; \
         passed ×N = executions checked, every run exhaustive within its bound; (budget) = \
         sampled runs, not exhaustive; (capped) = a cap stopped a run early; not run = the \
         engine could not run it (report.md gives each reason)."
    );
    for (entry, r, i) in report.counterexamples() {
        let c = r.counterexample.as_ref().expect("has one");
        println!(
            "\n{} — {} on `{}` after {} execution(s):\n  {}",
            entry.variant,
            r.engine,
            r.scenario,
            r.first_failure_at.unwrap_or(0),
            c.message
        );
        if let Some(trace) = report.trace_text(entry, r) {
            for line in trace.lines() {
                println!("    {line}");
            }
        }
        if let Some(p) = &c.replay {
            println!(
                "  replay: racelab replay {}",
                racelab::report::replay_token(entry, i, p)
            );
        }
    }
    let json_path = cli.json.clone().unwrap_or_else(|| "report.json".into());
    let md_path = cli.md.clone().unwrap_or_else(|| "report.md".into());
    let json = serde_json::to_string_pretty(&report.to_json()).expect("serialisable");
    std::fs::write(&json_path, json)
        .map_err(|e| UsageError(format!("cannot write {}: {e}", json_path.display())))?;
    std::fs::write(&md_path, report.to_markdown())
        .map_err(|e| UsageError(format!("cannot write {}: {e}", md_path.display())))?;
    let failures = report.failures();
    println!(
        "\n{} cells in {:.1} s; wrote {} and {}",
        report.rows.len(),
        report.elapsed.as_secs_f64(),
        json_path.display(),
        md_path.display()
    );
    if failures.is_empty() {
        println!("no false positives, no unexpected escapes");
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failures {
            println!("FAIL {f}");
        }
        Ok(ExitCode::from(1))
    }
}

fn explore(
    variant: &str,
    programs: u32,
    schedules: u64,
    seed: u64,
) -> Result<ExitCode, UsageError> {
    use racelab::queue::generate::ExploreConfig;
    let entry = catalogue::find(variant).map_err(UsageError)?;
    let Some(explore) = entry.explore() else {
        return Err(UsageError(format!(
            "{} cannot be explored with generated programs (queues only, not SPSC rings or the crossbeam adapters)",
            entry.variant
        )));
    };
    let cfg = ExploreConfig {
        programs,
        schedules: usize::try_from(schedules).unwrap_or(usize::MAX),
        seed,
        ..ExploreConfig::default()
    };
    let silence = SilenceStderr::new();
    let outcome = explore(&cfg);
    drop(silence);
    match outcome {
        Ok(n) => {
            println!(
                "{}: {n} generated programs × {schedules} schedules each, every history linearizable",
                entry.variant
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(found) => {
            println!(
                "{}: failing program, shrunk: {}",
                entry.variant, found.program
            );
            if let Some(c) = &found.result.counterexample {
                for line in c.message.lines() {
                    println!("  {line}");
                }
                for line in c.trace.to_string().lines() {
                    println!("    {line}");
                }
            }
            Ok(ExitCode::from(if entry.racy() { 0 } else { 1 }))
        }
    }
}

fn replay(token: &str) -> Result<ExitCode, UsageError> {
    let bad = |why: &str| UsageError(format!("corrupt replay string: {why}"));
    let mut parts = token.splitn(4, '/');
    let (Some(family), Some(variant), Some(index), Some(payload)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected family/variant/scenario/payload"));
    };
    let entry = catalogue::find(&format!("{family}/{variant}")).map_err(UsageError)?;
    let names = entry.scenarios.names();
    let index: usize = index
        .parse()
        .ok()
        .filter(|i| *i < names.len())
        .ok_or_else(|| bad(&format!("scenario index `{index}` out of range")))?;
    let payload: Replay = payload.parse().map_err(|e: String| bad(&e))?;
    let silence = SilenceStderr::new();
    let result = match &payload {
        Replay::Shuttle(s) => {
            let scenario = &entry.scenarios.shuttle()[index];
            engine::shuttle::replay(scenario, EngineKind::ShuttleRandom, s).map_err(|e| bad(&e))?
        }
        Replay::Loom {
            preemption_bound, ..
        } => engine::loom::replay(&entry.scenarios.loom()[index], *preemption_bound),
    };
    drop(silence);
    println!("{} / {}: {}", entry.variant, names[index], result.verdict);
    if let Some(c) = &result.counterexample {
        println!("  {}", c.message);
        for line in c.trace.to_string().lines() {
            println!("    {line}");
        }
    }
    let reproduced = match (&payload, result.verdict) {
        (Replay::Loom { iteration, .. }, Verdict::Caught) => {
            let same = result.first_failure_at == Some(*iteration);
            if !same {
                println!(
                    "  loom failed at iteration {:?}, the string said {iteration}",
                    result.first_failure_at
                );
            }
            same
        }
        (_, v) => v == Verdict::Caught,
    };
    println!(
        "{}",
        if reproduced {
            "reproduced"
        } else {
            "NOT reproduced"
        }
    );
    Ok(if reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn parse_effect(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|f| *f >= 0.0 && *f < 1.0)
        .ok_or_else(|| format!("`{s}` is not a fraction in [0, 1) (0.05 = 5%)"))
}

/// `racelab bench`'s arguments.
struct BenchArgs<'a> {
    baseline: &'a str,
    compare: Option<&'a str>,
    save_build: Option<&'a str>,
    rounds: usize,
    min_effect: f64,
    test_slowdown: Option<&'a racelab::benchsum::paired::Slowdown>,
    svg: Option<&'a Option<PathBuf>>,
    markdown: bool,
    criterion_dir: Option<&'a PathBuf>,
}

fn bench(cli: &Cli, a: &BenchArgs) -> Result<ExitCode, UsageError> {
    use racelab::benchsum::paired;
    let mut opts = racelab::benchsum::Options::new();
    if let Some(dir) = a.criterion_dir {
        opts.dir = dir.clone();
    }
    if let Some(name) = a.save_build {
        let to = paired::save_build(&opts.dir, name).map_err(UsageError)?;
        println!(
            "saved build `{name}`: {} (compare it with `racelab bench --baseline {name} --compare current`)",
            to.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(after) = a.compare {
        let before_build = paired::resolve_build(&opts.dir, a.baseline);
        let after_build = paired::resolve_build(&opts.dir, after);
        match (before_build, after_build) {
            (Some(before), Some(after)) => return bench_paired(cli, a, before, after),
            (b, c) if b.is_some() || c.is_some() => {
                let (build, other) = if b.is_some() {
                    (a.baseline, after)
                } else {
                    (after, a.baseline)
                };
                return Err(UsageError(format!(
                    "`{build}` is a build but `{other}` is not: save it with `racelab bench --save-build {other}` (builds are compared with builds, criterion baselines with criterion baselines)"
                )));
            }
            _ => {}
        }
    }
    if a.test_slowdown.is_some() {
        return Err(UsageError(
            "--test-slowdown needs a build comparison (`--baseline A --compare B` on builds)"
                .into(),
        ));
    }
    opts.baseline = a.baseline.to_string();
    opts.compare = a.compare.map(str::to_string);
    opts.markdown = a.markdown;
    opts.family = cli.family.clone();
    opts.svg = a
        .svg
        .map(|p| p.clone().unwrap_or_else(|| opts.default_svg()));
    let text = racelab::benchsum::run(&opts).map_err(UsageError)?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// `racelab bench --baseline A --compare B` on two builds: exit 0 when nothing changed beyond
/// noise, 1 when a benchmark is flagged slower or faster.
fn bench_paired(
    cli: &Cli,
    a: &BenchArgs,
    before: racelab::benchsum::paired::Build,
    after: racelab::benchsum::paired::Build,
) -> Result<ExitCode, UsageError> {
    use racelab::benchsum::paired::{ALPHA, PairedOptions};
    if a.svg.is_some() {
        return Err(UsageError(
            "--svg draws criterion baselines, not a build comparison".into(),
        ));
    }
    let opts = PairedOptions {
        before,
        after,
        rounds: a.rounds,
        min_effect: a.min_effect,
        alpha: ALPHA,
        family: cli.family.clone(),
        variant: cli.variant.clone(),
        slowdown: a.test_slowdown.cloned(),
    };
    let bar = if cli.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(a.rounds as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} rounds {elapsed}")
            .expect("static template"),
    );
    let (report, text) = racelab::benchsum::run_paired(&opts, a.markdown, &mut |done, _| {
        bar.set_position(done as u64)
    })
    .map_err(UsageError)?;
    bar.finish_and_clear();
    print!("{text}");
    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&report).expect("a report serialises");
        std::fs::write(path, json + "\n")
            .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
    }
    Ok(if report.flagged() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `racelab bench-probe`: serves timed runs to a comparing racelab (stdin → stdout, JSON lines).
fn bench_probe(cli: &Cli) -> Result<ExitCode, UsageError> {
    use racelab::benchsum::paired::{self, SLOWDOWN_ENV, Slowdown};
    let slowdown = match std::env::var(SLOWDOWN_ENV) {
        Ok(v) => Some(
            v.parse::<Slowdown>()
                .map_err(|e| UsageError(format!("{SLOWDOWN_ENV}: {e}")))?,
        ),
        Err(_) => None,
    };
    let benches =
        paired::benchmarks(cli.family.as_deref(), cli.variant.as_deref()).map_err(UsageError)?;
    paired::serve(
        &benches,
        slowdown.as_ref(),
        std::io::stdin().lock(),
        std::io::stdout().lock(),
    )
    .map_err(|e| UsageError(format!("bench-probe: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// Where a cell worker writes its replies: the stdout it was started with, moved to a
/// descriptor of its own, while fd 1 goes to /dev/null, so that whatever the code under test
/// prints cannot corrupt a reply.
fn replies() -> Box<dyn std::io::Write> {
    #[cfg(unix)]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: plain POSIX calls on descriptors this function owns: `own` is a fresh
        // duplicate of fd 1, checked before use and then owned by the returned `File`; the
        // /dev/null descriptor is checked, put on fd 1 and closed.
        let own = unsafe {
            let own = libc::dup(1);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if own >= 0 && null >= 0 {
                libc::dup2(null, 1);
            }
            if null >= 0 {
                libc::close(null);
            }
            own
        };
        if own >= 0 {
            // SAFETY: `own` is an open descriptor nothing else owns (see above).
            return Box::new(unsafe { std::fs::File::from_raw_fd(own) });
        }
    }
    Box::new(std::io::stdout())
}

/// Redirects stderr to /dev/null while alive. The engines catch failures on purpose, but
/// shuttle prints `test panicked in task …` for each one on stderr unconditionally; a matrix run
/// provokes hundreds. Everything racelab itself has to say goes to stdout or comes after.
struct SilenceStderr {
    #[cfg(unix)]
    saved: Option<libc::c_int>,
}

impl SilenceStderr {
    fn new() -> SilenceStderr {
        #[cfg(unix)]
        {
            // SAFETY: plain POSIX calls on file descriptors this function owns (the new
            // /dev/null descriptor and the duplicate of 2); each result is checked before use,
            // and fd 2 is restored from `saved` in `drop`.
            let saved = unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                if null < 0 {
                    None
                } else {
                    let saved = libc::dup(2);
                    if saved >= 0 {
                        libc::dup2(null, 2);
                    }
                    libc::close(null);
                    (saved >= 0).then_some(saved)
                }
            };
            SilenceStderr { saved }
        }
        #[cfg(not(unix))]
        SilenceStderr {}
    }
}

impl Drop for SilenceStderr {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = self.saved {
            // SAFETY: `saved` is the duplicate of the original fd 2 made in `new`, still open.
            unsafe {
                libc::dup2(saved, 2);
                libc::close(saved);
            }
        }
    }
}
