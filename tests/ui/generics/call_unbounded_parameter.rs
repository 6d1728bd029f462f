use trailhead::workflow;

workflow! {
    // `call W(..)` needs `W: Workflow`.
    workflow twice<W: Copy>(input: u32) -> Result<(), trailhead::Error> {
        call W(input);
        Ok(())
    }
}

fn main() {}
