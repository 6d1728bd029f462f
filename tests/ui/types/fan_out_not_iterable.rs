use trailhead::workflow;

async fn price(n: u64) -> Result<u64, std::io::Error> {
    Ok(n)
}

workflow! {
    workflow w(count: u64) -> Result<Vec<u64>, trailhead::Error> {
        let prices = parallel for n in count {
            step price(n)
        };
        Ok(prices)
    }
}

fn main() {}
