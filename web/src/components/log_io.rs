//! Export the committed log as a file, or import one to replay it.

use crate::hooks::use_dispatch;
use crate::state::Action;
use crate::state::timeline::TimelineAction;
use gloo::file::File;
use gloo::file::callbacks::{FileReader, read_as_bytes};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The log buttons' properties.
#[derive(Properties, PartialEq)]
pub struct LogIoProps {
    /// How many batches the log holds.
    pub batches: usize,
}

/// Export and import of the log.
#[component]
pub fn LogIo(props: &LogIoProps) -> Html {
    let dispatch = use_dispatch();
    // The reader must live until it has read: dropping it aborts.
    let reader = use_mut_ref(|| None::<FileReader>);
    let export = {
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| {
            dispatch.dispatch(Action::Timeline(TimelineAction::Export));
        })
    };
    let import = Callback::from(move |e: Event| {
        let input = e.target_unchecked_into::<HtmlInputElement>();
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        let file = File::from(file);
        let name = file.name();
        let dispatch = dispatch.clone();
        let task = read_as_bytes(&file, move |bytes| {
            let (name, bytes) = match bytes {
                Ok(bytes) => (name, bytes),
                Err(e) => (format!("{name} ({e})"), Vec::new()),
            };
            let bytes = bytes.into();
            dispatch.dispatch(Action::Timeline(TimelineAction::Import { name, bytes }));
        });
        *reader.borrow_mut() = Some(task);
    });
    html! {
        <div class="log-io">
            <button data-testid="export-log" onclick={export}
                title={format!("download the committed log ({} batches)", props.batches)}>
                { "⤓ export log" }
            </button>
            <label class="button" title="replay a log exported earlier">
                { "⤒ import log" }
                <input data-testid="import-log" type="file" accept=".lhlog,.log,application/octet-stream"
                    onchange={import} />
            </label>
        </div>
    }
}
