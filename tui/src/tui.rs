//! The only module that touches the terminal: raw mode and the alternate screen (restored on
//! exit and, through ratatui's panic hook, on a panic), the crossterm event stream and the
//! frame tick. It feeds [`Action`]s to [`update`] and hands the commands to the [`Worker`].

use std::io;
use std::time::Duration;

use futures::StreamExt as _;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{Event, EventStream};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::app::{App, Run};
use crate::client::AdminClient;
use crate::update::{start, update};
use crate::worker::{Worker, now_ms};

/// Actions waiting for the model; a full queue makes the I/O tasks wait, not the screen.
const ACTION_QUEUE: usize = 4096;
/// Clock tick (relative times, notices expiring, "retry in …").
const TICK: Duration = Duration::from_millis(250);
/// Actions applied per frame at most, so a burst of records cannot starve key presses.
const BATCH: usize = 512;

/// Runs the dashboard until `q` / Ctrl-C.
pub async fn run(client: AdminClient, url: &str) -> io::Result<()> {
    // `try_init` installs a panic hook that restores the terminal before the message prints.
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, client, url).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    client: AdminClient,
    url: &str,
) -> io::Result<()> {
    let (tx, mut rx) = mpsc::channel(ACTION_QUEUE);
    let mut app = App::new(url, now_ms());
    let mut worker = Worker::new(client, tx);
    worker.start();
    for command in start(&mut app) {
        worker.run(command);
    }
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while app.run == Run::Running {
        terminal.draw(|frame| frame.render_widget(&app, frame.area()))?;
        let action = tokio::select! {
            event = keys.next() => match event {
                Some(Ok(Event::Key(key))) => Action::Key(key),
                // A resize (or focus, paste, mouse) only needs the redraw at the loop's top.
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => break,
            },
            Some(action) = rx.recv() => action,
            _ = tick.tick() => Action::Tick { now: now_ms() },
        };
        for command in update(&mut app, action) {
            worker.run(command);
        }
        // Apply what else is waiting before drawing again: one frame per burst.
        for _ in 0..BATCH {
            let Ok(action) = rx.try_recv() else { break };
            for command in update(&mut app, action) {
                worker.run(command);
            }
        }
    }
    worker.stop();
    Ok(())
}
