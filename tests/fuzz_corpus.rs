//! Replays the checked-in fuzz corpus (`fuzz/corpus/schedule`) on stable, without cargo-fuzz:
//! no correct entry may ever be caught (a false positive), and the corpus's known lost-update
//! schedule must still catch `LoadStoreCounter`.
//!
//! The decoding is `racelab::catalogue::decode_fuzz_input`, the same the fuzz target uses.

use racelab::Verdict;
use racelab::catalogue::decode_fuzz_input;
use racelab::engine::schedule::run_choices;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn fuzz_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/schedule");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| f.expect("readable directory entry").path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());

    let mut caught = BTreeSet::new();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let Some((entry, scenario, choices)) = decode_fuzz_input(&data) else {
            continue;
        };
        let r = run_choices(&scenario, choices, 100_000);
        let name = path.file_name().unwrap().to_string_lossy();
        if entry.racy() {
            if r.verdict == Verdict::Caught {
                caught.insert(entry.variant);
            }
        } else {
            assert_eq!(
                r.verdict,
                Verdict::Passed,
                "false positive on {name}: correct {} `{}`: {}",
                entry.variant,
                scenario.name(),
                r.message().unwrap_or(&r.note)
            );
        }
    }
    println!(
        "{} corpus inputs; racy entries caught: {caught:?}",
        files.len()
    );
    assert!(
        caught.contains("LoadStoreCounter"),
        "no corpus input caught LoadStoreCounter's lost update (caught: {caught:?})"
    );
}
