use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

async fn cancel(seat: u32) -> Result<(), std::io::Error> {
    let _ = seat;
    Ok(())
}

workflow! {
    workflow trip(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).compensate(cancel).irreversible();
        Ok(booking)
    }
}

fn main() {}
