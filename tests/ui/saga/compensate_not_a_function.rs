use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

workflow! {
    workflow trip(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).compensate("cancel");
        Ok(booking)
    }
}

fn main() {}
