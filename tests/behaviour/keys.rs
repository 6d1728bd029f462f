//! Deterministic step keys and definition hashes.

use crate::support;

use support::journal_keys;
use trailhead::{Engine, Workflow, workflow};

async fn id(x: u32) -> Result<u32, std::io::Error> {
    Ok(x)
}

workflow! {
    workflow keyed(n: u32) -> Result<u32, trailhead::Error> {
        let mut total = step id(n);
        for i in 0..n {
            total += step id(i);
            if i % 2 == 0 {
                total += step id(i).name("even");
            }
        }
        total += step id(0);
        Ok(total)
    }

    workflow other(n: u32) -> Result<u32, trailhead::Error> {
        let x = step id(n);
        Ok(x)
    }
}

#[tokio::test]
async fn keys_are_the_same_on_every_run() {
    let engine = Engine::new();
    let first = engine.start(keyed, 3).await.unwrap();
    let second = engine.start(keyed, 3).await.unwrap();
    let (a, b) = (first.id().clone(), second.id().clone());
    assert_ne!(a, b, "runs get distinct ids");
    first.result().await.unwrap();
    second.result().await.unwrap();
    let expected = [
        "id", "id#2[0]", "even[0]", "id#2[1]", "id#2[2]", "even[2]", "id#3",
    ];
    assert_eq!(journal_keys(&engine, &a).await, expected);
    assert_eq!(journal_keys(&engine, &b).await, expected);
}

#[test]
fn definition_hashes_are_constants_that_tell_definitions_apart() {
    const KEYED: u64 = keyed::DEFINITION_HASH;
    assert_eq!(KEYED, <keyed as Workflow>::DEFINITION_HASH);
    assert_ne!(keyed::DEFINITION_HASH, other::DEFINITION_HASH);
    assert_eq!(keyed::NAME, "keyed");
}
