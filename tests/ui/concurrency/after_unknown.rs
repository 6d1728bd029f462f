use trailhead::workflow;

async fn wait(ms: u64) -> Result<u64, std::io::Error> {
    Ok(ms)
}

workflow! {
    workflow w() -> Result<u64, trailhead::Error> {
        let paid = step wait(1).name("charge");
        let shipped = step wait(2).after(chrage);
        let noted = step wait(3).after(nothing_like_it);
        Ok(paid + shipped + noted)
    }
}

fn main() {}
