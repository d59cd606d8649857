//! The scenario picker: every preset of the simulator, its seed and parameters.
//! Choosing a scenario starts it at once (with the same seed); edited parameters apply
//! with "restart". The URL follows, so a link reproduces the run. Parameters are named
//! as the core and the link name them (`durationMs`, `joinSpreadMs`, ...).

use crate::hooks::use_dispatch;
use crate::model::link::RunSpec;
use crate::state::Action;
use crate::state::operator::OperatorAction;
use leasehold::sim::{SCENARIOS, Scenario};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// The picker's properties.
#[derive(Properties, PartialEq)]
pub struct ScenarioPickerProps {
    /// The run's scenario and parameters.
    pub spec: RunSpec,
}

/// The scenario picker.
#[component]
pub fn ScenarioPicker(props: &ScenarioPickerProps) -> Html {
    let dispatch = use_dispatch();
    let draft = use_state(|| props.spec.clone());
    let problem = use_state(|| None::<String>);
    {
        let (draft, problem) = (draft.clone(), problem.clone());
        use_effect_with(props.spec.clone(), move |spec| {
            draft.set(spec.clone());
            problem.set(None);
        });
    }
    let choose = {
        let (dispatch, spec) = (dispatch.clone(), props.spec.clone());
        Callback::from(move |e: Event| {
            let name = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(mut next) = RunSpec::preset(&name) {
                next.params.seed = spec.params.seed;
                dispatch.dispatch(Action::Operator(OperatorAction::Start(next)));
            }
        })
    };
    let set = |name: &'static str| {
        let (draft, problem) = (draft.clone(), problem.clone());
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            let mut next = (*draft).clone();
            match next.params.set(name, &value) {
                Ok(()) => {
                    draft.set(next);
                    problem.set(None);
                }
                Err(err) => problem.set(Some(err.to_string())),
            }
        })
    };
    let restart = {
        let (dispatch, draft) = (dispatch.clone(), draft.clone());
        Callback::from(move |_: MouseEvent| {
            dispatch.dispatch(Action::Operator(OperatorAction::Start((*draft).clone())));
        })
    };
    let description = Scenario::named(&props.spec.scenario).map_or("", |s| s.description);
    let values: Vec<(&str, String)> = draft
        .params
        .values()
        .into_iter()
        .map(|(name, value)| (name, value.to_string()))
        .collect();
    let seed = values
        .iter()
        .find(|(n, _)| *n == "seed")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    html! {
        <div class="picker">
            <label title={description}>
                { "scenario " }
                <select data-testid="scenario-select" onchange={choose}>
                    { for SCENARIOS.iter().map(|&name| html! {
                        <option value={name} selected={name == props.spec.scenario}>{ name }</option>
                    }) }
                </select>
            </label>
            <label>
                { "seed " }
                <input data-testid="seed" class="num" type="number" min="0" value={seed}
                    onchange={set("seed")} />
            </label>
            <details class="params">
                <summary>{ "parameters" }</summary>
                <p class="description">{ description }</p>
                <div class="param-grid">
                    { for values.iter().filter(|(n, _)| *n != "seed").map(|(name, value)| html! {
                        <label>
                            <span>{ *name }</span>
                            <input data-testid={format!("param-{name}")} value={value.clone()}
                                onchange={set(name)} />
                        </label>
                    }) }
                </div>
                if let Some(p) = (*problem).clone() {
                    <p class="problem">{ p }</p>
                }
            </details>
            <button data-testid="start" onclick={restart} title="start the scenario again with these parameters">
                { "↻ restart" }
            </button>
        </div>
    }
}
