use trailhead::workflow;

workflow! {
    workflow greet<'a>(name: &'a str) -> Result<(), trailhead::Error> {
        let _ = name;
        Ok(())
    }
}

fn main() {}
