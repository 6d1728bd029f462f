//! Branches: `if`/`else`, `else if`, `if let` and `match`, with steps in the arms.

use crate::support;

use support::journal_keys;
use trailhead::{Engine, workflow};

async fn label(text: &'static str) -> Result<String, std::io::Error> {
    Ok(text.to_owned())
}

async fn classify(n: i64) -> Result<i64, std::io::Error> {
    Ok(n)
}

workflow! {
    workflow sign(n: i64) -> Result<String, trailhead::Error> {
        let n = step classify(n);
        let text = if n > 0 {
            step label("positive")
        } else if n < 0 {
            step label("negative").name("negative")
        } else {
            step label("zero").name("zero")
        };
        Ok(text)
    }

    workflow size(n: Option<u32>) -> Result<String, trailhead::Error> {
        let text = match n {
            None => step label("none"),
            Some(0) => { step label("zero").name("zero") }
            Some(x) if x < 10 => step label("small").name("small"),
            Some(_) => {
                let big = step label("big").name("big");
                big
            }
        };
        if let Some(7) = n {
            step label("lucky").name("lucky");
        }
        Ok(text)
    }
}

#[tokio::test]
async fn if_takes_each_way_and_journals_only_the_branch_taken() {
    let engine = Engine::new();
    for (n, expected, key) in [
        (5, "positive", "label"),
        (-2, "negative", "negative"),
        (0, "zero", "zero"),
    ] {
        let handle = engine.start(sign, n).await.unwrap();
        let run = handle.id().clone();
        assert_eq!(handle.result().await.unwrap(), expected);
        assert_eq!(journal_keys(&engine, &run).await, ["classify", key]);
    }
}

#[tokio::test]
async fn match_arms_with_guards_choose_the_step() {
    let engine = Engine::new();
    let cases = [
        (None, "none", vec!["label"]),
        (Some(0), "zero", vec!["zero"]),
        (Some(7), "small", vec!["small", "lucky"]),
        (Some(99), "big", vec!["big"]),
    ];
    for (n, expected, keys) in cases {
        let handle = engine.start(size, n).await.unwrap();
        let run = handle.id().clone();
        assert_eq!(handle.result().await.unwrap(), expected);
        assert_eq!(journal_keys(&engine, &run).await, keys);
    }
}
