//! Proves that `workflow!` keeps working when trailhead is re-exported under another
//! name: this crate depends on trailhead as `flows` and never names `trailhead`.

pub use flows;

#[cfg(test)]
mod tests {
    use crate::flows::{Engine, workflow};

    async fn double(x: u32) -> Result<u32, std::io::Error> {
        Ok(x * 2)
    }

    workflow! {
        workflow doubled(x: u32) -> Result<u32, crate::flows::Error> {
            let y = step double(x);
            Ok(y)
        }
    }

    #[tokio::test]
    async fn a_workflow_runs_through_a_renamed_dependency() {
        let engine = Engine::new();
        assert_eq!(doubled::run(&engine, 21).await.unwrap(), 42);
    }
}
