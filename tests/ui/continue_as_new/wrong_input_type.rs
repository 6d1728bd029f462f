use trailhead::workflow;

async fn poll(page: u32) -> Result<bool, std::io::Error> {
    Ok(page > 3)
}

workflow! {
    workflow poller(page: u32) -> Result<(), trailhead::Error> {
        if step poll(page) {
            return Ok(());
        }
        continue_as_new("next")
    }
}

fn main() {}
