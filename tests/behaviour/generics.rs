//! Generic workflows: one definition, instantiated per type, each instance a
//! workflow of its own (name, hash, chart), checked at compile time.

use serde::{Deserialize, Serialize};
use trailhead::{Data, Engine, RunStatus, Workflow, workflow};

use crate::support::journal_keys;

/// What an item of a batch knows how to do.
trait Item: Data + Clone {
    /// What processing gives back.
    type Done: Data;
    /// Processes the item.
    fn process(
        &self,
    ) -> impl std::future::Future<Output = Result<Self::Done, trailhead::Error>> + Send;
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Order(u32);

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Invoice(String);

impl Item for Order {
    type Done = u32;
    async fn process(&self) -> Result<u32, trailhead::Error> {
        Ok(self.0 * 2)
    }
}

impl Item for Invoice {
    type Done = String;
    async fn process(&self) -> Result<String, trailhead::Error> {
        Ok(self.0.to_uppercase())
    }
}

/// A step implementation passed in as a value.
trait Notifier: Data + Copy {
    fn notify(
        self,
        text: String,
    ) -> impl std::future::Future<Output = Result<String, trailhead::Error>> + Send;
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Email;

impl Notifier for Email {
    async fn notify(self, text: String) -> Result<String, trailhead::Error> {
        Ok(format!("email: {text}"))
    }
}

workflow! {
    /// Processes every item, at most 4 at once.
    workflow process_all<T: Item>(items: Vec<T>) -> Result<Vec<T::Done>, trailhead::Error> {
        let done = parallel(limit = 4) for item in items {
            step item.process()
        };
        Ok(done)
    }

    /// Tells someone through whatever notifier it is given.
    workflow tell<N>(notifier: N, text: String) -> Result<String, trailhead::Error>
    where
        N: Notifier,
    {
        let sent = step notifier.notify(text);
        Ok(sent)
    }

    /// Calls a generic child with its type spelled out and inferred.
    workflow orders_then_invoices(orders: Vec<Order>, invoices: Vec<Invoice>) -> Result<(Vec<u32>, Vec<String>), trailhead::Error> {
        let doubled = call process_all::<Order>(orders);
        let shouted = call process_all::<Invoice>(invoices);
        Ok((doubled, shouted))
    }

    /// A higher-order workflow: runs `W` twice on the same input.
    workflow twice<W>(input: W::Input) -> Result<(W::Output, W::Output), trailhead::Error>
    where
        W: Workflow<Error = trailhead::Error>,
        W::Input: Data + Clone,
        W::Output: Data,
    {
        let first = call W(input.clone());
        let second = call W(input.clone());
        Ok((first, second))
    }

    /// A const parameter: the batch size is part of the instance.
    workflow sum_in_batches<const N: usize>(values: Vec<u32>) -> Result<Vec<u32>, trailhead::Error> {
        let mut sums = Vec::new();
        for batch in values.chunks(N).map(<[u32]>::to_vec).collect::<Vec<_>>() {
            sums.push(step sum(batch));
        }
        Ok(sums)
    }
}

async fn sum(batch: Vec<u32>) -> Result<u32, trailhead::Error> {
    Ok(batch.iter().sum())
}

#[tokio::test]
async fn one_definition_runs_for_two_types() {
    let engine = Engine::new();
    let orders = process_all::run(&engine, vec![Order(1), Order(2), Order(3)])
        .await
        .unwrap();
    assert_eq!(orders, [2, 4, 6]);
    let invoices = engine
        .run(process_all::<Invoice>::default(), vec![Invoice("a".into())])
        .await
        .unwrap();
    assert_eq!(invoices, ["A"]);
}

#[test]
fn each_instance_has_its_own_name_hash_and_chart() {
    type Orders = process_all<Order>;
    type Invoices = process_all<Invoice>;
    assert_eq!(Orders::NAME, "process_all");
    assert_eq!(
        <Orders as Workflow>::name(),
        "process_all<behaviour::generics::Order>"
    );
    assert_eq!(
        <Invoices as Workflow>::name(),
        "process_all<behaviour::generics::Invoice>"
    );
    assert_ne!(
        <Orders as Workflow>::definition_hash(),
        <Invoices as Workflow>::definition_hash()
    );
    // Stable: the same instance gives the same hash every time.
    assert_eq!(
        <Orders as Workflow>::definition_hash(),
        <process_all<Order> as Workflow>::definition_hash()
    );
    let chart = <Orders as Workflow>::mermaid();
    assert!(
        chart.starts_with(
            "---\ntitle: \"process_all<behaviour::generics::Order>\"\n---\nflowchart TD"
        ),
        "{chart}"
    );
    assert!(chart.contains(r#"s0["process"]"#), "{chart}");
    assert_eq!(<sum_in_batches<2> as Workflow>::name(), "sum_in_batches<2>");
    assert_eq!(
        <twice<orders_then_invoices> as Workflow>::name(),
        "twice<orders_then_invoices>"
    );
}

#[tokio::test]
async fn a_step_implementation_is_passed_in_as_a_value() {
    let engine = Engine::new();
    let sent = tell::run(&engine, Email, "hello".into()).await.unwrap();
    assert_eq!(sent, "email: hello");
}

#[tokio::test]
async fn generic_children_are_called_by_instance() {
    let engine = Engine::new();
    let handle = engine
        .start(
            orders_then_invoices,
            (vec![Order(5)], vec![Invoice("x".into())]),
        )
        .await
        .unwrap();
    let parent = handle.id().clone();
    assert_eq!(
        handle.result().await.unwrap(),
        (vec![10], vec!["X".to_owned()])
    );
    assert_eq!(
        journal_keys(&engine, &parent).await,
        ["process_all", "process_all#2"]
    );
    let mut children: Vec<_> = engine
        .store()
        .list_runs(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|run| run.parent.is_some())
        .map(|run| (run.workflow.clone(), run.status()))
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        children,
        [
            (
                "process_all<behaviour::generics::Invoice>".to_owned(),
                RunStatus::Completed
            ),
            (
                "process_all<behaviour::generics::Order>".to_owned(),
                RunStatus::Completed
            ),
        ]
    );
}

#[tokio::test]
async fn a_higher_order_workflow_calls_the_workflow_it_is_given() {
    let engine = Engine::new();
    let both = twice::<sum_in_batches<2>>::run(&engine, vec![1, 2, 3])
        .await
        .unwrap();
    assert_eq!(both, (vec![3, 3], vec![3, 3]));
    let nested = engine
        .run(twice::<process_all<Order>>::default(), vec![Order(1)])
        .await
        .unwrap();
    assert_eq!(nested, (vec![2], vec![2]));
}

#[tokio::test]
async fn an_instance_run_has_its_picture_under_its_own_title() {
    let engine = Engine::new();
    let handle = engine
        .start(process_all::<Order>::default(), vec![Order(1), Order(2)])
        .await
        .unwrap();
    let run = handle.id().clone();
    handle.result().await.unwrap();
    let picture = engine.picture::<process_all<Order>>(&run).await.unwrap();
    let chart = picture.to_mermaid();
    assert!(
        chart.starts_with("---\ntitle: \"process_all<behaviour::generics::Order>\"\n---\n"),
        "{chart}"
    );
    assert!(chart.contains("classDef"), "{chart}");
    // Another instance's picture of the run is refused: it is not its run.
    assert!(engine.picture::<process_all<Invoice>>(&run).await.is_err());
}
