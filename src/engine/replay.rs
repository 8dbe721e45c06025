//! Replay strings: `shuttle:<schedule>` and `loom:pbN:ITERATION`.

use super::*;

/// How to reproduce a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// A shuttle schedule string; `shuttle::replay(body, s)` reproduces it too.
    Shuttle(String),
    /// loom is deterministic: rerunning with the same preemption bound fails at the same
    /// iteration.
    Loom {
        /// The preemption bound of the run.
        preemption_bound: Option<usize>,
        /// The 1-based iteration that failed.
        iteration: u64,
    },
}

impl fmt::Display for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Replay::Shuttle(s) => write!(f, "shuttle:{s}"),
            Replay::Loom {
                preemption_bound,
                iteration,
            } => match preemption_bound {
                Some(b) => write!(f, "loom:pb{b}:{iteration}"),
                None => write!(f, "loom:unbounded:{iteration}"),
            },
        }
    }
}

impl FromStr for Replay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(rest) = s.strip_prefix("shuttle:") {
            shuttle::validate_schedule(rest)?;
            return Ok(Replay::Shuttle(rest.to_string()));
        }
        if let Some(rest) = s.strip_prefix("loom:") {
            let (bound, iter) = rest
                .split_once(':')
                .ok_or("a loom replay reads `loom:pbN:ITERATION`")?;
            let preemption_bound = match bound {
                "unbounded" => None,
                b => Some(
                    b.strip_prefix("pb")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| format!("bad loom preemption bound `{b}`"))?,
                ),
            };
            let iteration = iter
                .parse()
                .ok()
                .filter(|i| *i > 0)
                .ok_or_else(|| format!("bad loom iteration `{iter}`"))?;
            return Ok(Replay::Loom {
                preemption_bound,
                iteration,
            });
        }
        Err("a replay payload starts with `shuttle:` or `loom:`".into())
    }
}
