use trailhead::workflow;

async fn live(sku: &str) -> Result<u64, std::io::Error> {
    Ok(sku.len() as u64)
}
async fn cached(sku: &str) -> Result<u64, std::io::Error> {
    Ok(sku.len() as u64)
}

workflow! {
    workflow quote(sku: String) -> Result<u64, trailhead::Error> {
        let price = step live(&sku).fallback(step cached(&sku).retry(3));
        Ok(price)
    }
}

fn main() {}
