//! Loops: `for`, `while`, `loop` with `break`/`continue`; each iteration adds its
//! index to the keys of the steps it runs.

use crate::support;

use support::journal_keys;
use trailhead::{Engine, workflow};

async fn visit(x: u32) -> Result<u32, std::io::Error> {
    Ok(x)
}

workflow! {
    workflow each(xs: Vec<u32>) -> Result<u32, trailhead::Error> {
        let mut sum = 0;
        for x in xs {
            if x % 2 == 0 {
                continue;
            }
            if x > 100 {
                break;
            }
            sum += step visit(x);
        }
        Ok(sum)
    }

    workflow grid(rows: u32, cols: u32) -> Result<u32, trailhead::Error> {
        let mut cells = 0;
        'rows: for r in 0..rows {
            for c in 0..cols {
                if r == 2 {
                    break 'rows;
                }
                cells += step visit(r * 10 + c);
            }
        }
        Ok(cells)
    }

    workflow countdown(from: u32) -> Result<u32, trailhead::Error> {
        let mut n = from;
        let mut seen = 0;
        while n > 0 {
            seen += step visit(n);
            n -= 1;
        }
        let last = loop {
            let v = step visit(seen).name("final");
            break v;
        };
        Ok(last)
    }
}

#[tokio::test]
async fn for_loops_key_steps_by_iteration_and_honour_break_and_continue() {
    let engine = Engine::new();
    let handle = engine
        .start(each, vec![1, 2, 3, 4, 5, 201, 7])
        .await
        .unwrap();
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), 1 + 3 + 5);
    // Iterations 1 and 3 were skipped by `continue`, 5 broke out: the index counts
    // iterations, not steps, so keys stay put when a branch changes.
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["visit[0]", "visit[2]", "visit[4]"]
    );
}

#[tokio::test]
async fn nested_loops_key_steps_by_every_index_and_labelled_break_leaves_both() {
    let engine = Engine::new();
    let handle = engine.start(grid, (5, 2)).await.unwrap();
    let run = handle.id().clone();
    // visit(r * 10 + c) for r in 0..2, c in 0..2
    assert_eq!(handle.result().await.unwrap(), 1 + 10 + 11);
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["visit[0][0]", "visit[0][1]", "visit[1][0]", "visit[1][1]"]
    );
}

#[tokio::test]
async fn while_and_loop_with_a_break_value() {
    let engine = Engine::new();
    let handle = engine.start(countdown, 3).await.unwrap();
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), 3 + 2 + 1);
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["visit[0]", "visit[1]", "visit[2]", "final[0]"]
    );
}
