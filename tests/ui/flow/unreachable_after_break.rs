use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(ids: Vec<u32>) -> Result<u32, trailhead::Error> {
        let mut sum = 0;
        for id in ids {
            break;
            sum += step fetch(id);
        }
        Ok(sum)
    }
}

fn main() {}
