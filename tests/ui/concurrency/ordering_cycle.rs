use trailhead::workflow;

async fn wait(ms: u64) -> Result<u64, std::io::Error> {
    Ok(ms)
}

workflow! {
    workflow w() -> Result<u64, trailhead::Error> {
        let a = step wait(1).after(b);
        let b = step wait(a);
        let c = step wait(2).after(d);
        let d = step wait(3);
        Ok(b + c + d)
    }
}

fn main() {}
