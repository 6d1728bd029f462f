use trailhead::workflow;

async fn save(n: u32) -> Result<(), std::io::Error> {
    let _ = n;
    Ok(())
}

workflow! {
    workflow import(items: Vec<u32>) -> Result<(), trailhead::Error> {
        stream(limit = 4, collect_all) for n in trailhead::stream::iter(items) {
            step save(n);
        }
        Ok(())
    }
}

fn main() {}
