// trailhead dashboard: a run page's live updates and its actions.
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

  const actions = document.getElementById("actions");
  if (!actions) return;
  const result = document.getElementById("action-result");
  const act = async (url, body) => {
    const headers = { "x-trailhead-action": "1", "content-type": "application/json" };
    if (actions.dataset.token === "true") {
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
    result.textContent = response.ok
      ? (answer.sent ? "Signal `" + answer.sent + "` sent." : "Cancel asked.")
      : "Refused: " + (answer.error || response.statusText);
    result.className = response.ok ? "ok" : "problem";
  };
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
