// trailhead dashboard: a run page's live updates, time travel over an
// ended run's journal, and its actions (cancel, signal, fork from a journal
// row, resume a paused run, add a breakpoint).
// The server renders every part; this script only swaps them in.
"use strict";

(() => {
  const run = document.getElementById("run");
  if (run && run.dataset.ended !== "true") {
    const source = new EventSource(run.dataset.live);
    source.addEventListener("update", (event) => {
      const update = JSON.parse(event.data);
      for (const [id, html] of Object.entries(update.parts)) {
        const part = document.getElementById(id);
        if (part) part.innerHTML = html;
      }
      run.dataset.status = update.status;
      run.dataset.updates = String(Number(run.dataset.updates || "0") + 1);
      if (update.ended) {
        run.dataset.ended = "true";
        const actions = document.getElementById("actions");
        if (actions) actions.remove();
      }
    });
    const stop = () => source.close();
    source.addEventListener("end", stop);
    source.addEventListener("gone", (event) => {
      stop();
      const header = document.getElementById("run-header");
      if (header) header.insertAdjacentHTML("beforeend", "<p class=\"problem\"></p>");
      header.lastElementChild.textContent = JSON.parse(event.data).message;
    });
  }

  // Time travel: the diagram after event i, drawn by the server as the
  // live updates draw it; the last move wins when answers cross.
  const travel = document.getElementById("time-travel");
  if (travel) {
    const slider = document.getElementById("travel-at");
    const caption = document.getElementById("travel-event");
    const diagram = document.getElementById("diagram");
    let asked = 0;
    const go = async (index) => {
      index = Math.max(0, Math.min(Number(slider.max), index));
      slider.value = String(index);
      const mine = ++asked;
      try {
        const response = await fetch(travel.dataset.timeline + "/" + index);
        const answer = await response.json().catch(() => ({}));
        if (mine !== asked) return;
        if (!response.ok) {
          caption.textContent = "Not shown: " + (answer.error || response.statusText);
          return;
        }
        diagram.innerHTML = answer.svg;
        caption.textContent = answer.label;
        travel.dataset.at = String(answer.index);
      } catch (error) {
        if (mine === asked) caption.textContent = "Not shown: " + error.message;
      }
    };
    document.getElementById("travel-back").addEventListener("click", () => go(Number(slider.value) - 1));
    document.getElementById("travel-forward").addEventListener("click", () => go(Number(slider.value) + 1));
    slider.addEventListener("input", () => go(Number(slider.value)));
    const failure = document.getElementById("travel-failure");
    if (failure) failure.addEventListener("click", () => go(Number(failure.dataset.at)));
  }

  if (!run || run.dataset.actions !== "true") return;
  // POSTs an action; gives the response and its JSON (`{}` if none).
  const post = async (url, body) => {
    const headers = { "x-trailhead-action": "1", "content-type": "application/json" };
    if (run.dataset.token === "true") {
      let token = sessionStorage.getItem("trailhead-token");
      if (!token) {
        token = window.prompt("This dashboard's token:") || "";
        sessionStorage.setItem("trailhead-token", token);
      }
      headers.authorization = "Bearer " + token;
    }
    const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401) sessionStorage.removeItem("trailhead-token");
    return { response, answer };
  };
  const refused = (response, answer) => "Refused: " + (answer.error || response.statusText);

  // Fork from a journal row: the buttons come and go with the journal's
  // live updates, so one listener on the journal serves them all.
  const journal = document.getElementById("journal");
  if (journal) {
    journal.addEventListener("click", async (event) => {
      const button = event.target.closest("button.fork");
      const table = button && button.closest("table.journal");
      if (!table || !table.dataset.fork) return;
      const from = button.dataset.from;
      if (!window.confirm("Fork this run from `" + from + "`? A new run replays the entries before it; " +
        "a worker running the workflow then runs `" + from + "` and what follows again.")) return;
      let shown = button.parentElement.querySelector(".fork-result");
      if (!shown) {
        shown = document.createElement("span");
        shown.className = "fork-result";
        shown.setAttribute("role", "status");
        button.after(shown);
      }
      button.disabled = true;
      try {
        const { response, answer } = await post(table.dataset.fork, { from });
        shown.replaceChildren();
        if (response.ok) {
          const link = document.createElement("a");
          link.href = table.dataset.runs + encodeURIComponent(answer.forked);
          link.textContent = answer.forked;
          const copied = answer.copied === 1 ? "1 entry" : answer.copied + " entries";
          shown.append("Forked as ", link, " (" + copied + " copied; a worker running the workflow resumes it).");
          shown.classList.remove("problem");
        } else {
          shown.textContent = refused(response, answer);
          shown.classList.add("problem");
        }
      } catch (error) {
        shown.textContent = "Not sent: " + error.message;
        shown.classList.add("problem");
      } finally {
        button.disabled = false;
      }
    });
  }

  // Resume a paused run: the panel comes and goes with the live updates,
  // so one listener on its place serves its buttons.
  const paused = document.getElementById("paused");
  if (paused) {
    paused.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-resume]");
      const resume = button && button.closest(".resume");
      if (!resume) return;
      const shown = resume.querySelector(".resume-result");
      const buttons = [...resume.querySelectorAll("button")];
      for (const each of buttons) each.disabled = true;
      try {
        const { response, answer } = await post(resume.dataset.action, { resume: button.dataset.resume });
        shown.textContent = response.ok ? button.textContent + ": resumed." : refused(response, answer);
        shown.className = "resume-result " + (response.ok ? "ok" : "problem");
      } catch (error) {
        shown.textContent = "Not sent: " + error.message;
        shown.className = "resume-result problem";
      } finally {
        for (const each of buttons) each.disabled = false;
      }
    });
  }

  const actions = document.getElementById("actions");
  if (!actions) return;
  const result = document.getElementById("action-result");
  const act = async (url, body) => {
    const { response, answer } = await post(url, body);
    result.textContent = response.ok
      ? (answer.sent ? "Signal `" + answer.sent + "` sent." : "Cancel asked.")
      : refused(response, answer);
    result.className = response.ok ? "ok" : "problem";
  };
  const breakpoint = document.getElementById("breakpoint");
  if (breakpoint) {
    breakpoint.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(breakpoint);
      const steps = form.get("steps");
      const when = form.get("when");
      try {
        const { response, answer } = await post(breakpoint.dataset.action, { steps, when, run: breakpoint.dataset.run });
        result.textContent = response.ok
          ? "Breakpoint " + answer.id + " added: this run stops at `" + steps + "` " +
            breakpoint.elements.when.selectedOptions[0].textContent + "."
          : refused(response, answer);
        result.className = response.ok ? "ok" : "problem";
      } catch (error) {
        result.textContent = "Not sent: " + error.message;
        result.className = "problem";
      }
    });
  }
  const cancel = document.getElementById("cancel");
  cancel.addEventListener("click", () => {
    if (window.confirm("Cancel this run? Its completed steps are compensated.")) act(cancel.dataset.action, {});
  });
  const signal = document.getElementById("signal");
  signal.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(signal);
    let value;
    try {
      value = JSON.parse(form.get("value"));
    } catch (error) {
      result.textContent = "The value is not JSON: " + error.message;
      result.className = "problem";
      return;
    }
    act(signal.dataset.action, { name: form.get("name"), value });
  });
})();
