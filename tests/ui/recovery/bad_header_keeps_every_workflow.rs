use trailhead::{Engine, workflow};

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    #[deadline(5)]
    workflow first(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id);
        Ok(x)
    }

    workflow second(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id);
        Ok(x)
    }

    workflow borrowing<'a>(id: u32) -> Result<u32, trailhead::Error> {
        Ok(1)
    }

    #[saga]
    #[saga]
    workflow third(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch(id).irreversible();
        Ok(x)
    }
}

// The first workflow's header has a mistake and the third repeats an attribute,
// yet every workflow of the call still exists: this code compiles, and the errors
// reported are the header's own (the unreadable `borrowing` is skipped, not the rest).
async fn use_them(engine: &Engine) -> u32 {
    let _ = first::MERMAID;
    let a = first::run(engine, 1).await.unwrap();
    let b = second::run(engine, 2).await.unwrap();
    let c = third::run(engine, 3).await.unwrap();
    a + b + c
}

fn main() {
    let _ = use_them;
}
