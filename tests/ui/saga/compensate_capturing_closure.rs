use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

async fn cancel(seat: u32, reason: String) -> Result<(), std::io::Error> {
    let _ = (seat, reason);
    Ok(())
}

workflow! {
    workflow trip(seat: u32, reason: String) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).compensate(move |seat: u32| cancel(seat, reason.clone()));
        Ok(booking)
    }
}

fn main() {}
