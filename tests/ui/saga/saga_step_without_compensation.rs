use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

async fn cancel(seat: u32) -> Result<(), std::io::Error> {
    let _ = seat;
    Ok(())
}

async fn notify(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

workflow! {
    #[saga]
    workflow trip(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).compensate(cancel);
        let sent = step notify(booking);
        Ok(sent)
    }
}

fn main() {}
