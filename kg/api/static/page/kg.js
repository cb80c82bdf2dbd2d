// The case page: narrowing the finding list, the "assess next" buttons, a clean URL for each
// case, and the justification graph (drawn by the vendored Cytoscape, laid out by its
// breadthfirst layout). The answer itself is rendered by the server; nothing clinical is here.
(function () {
  "use strict";

  function form() { return document.getElementById("case"); }

  // The search box: show the findings whose label, ID or other names hold what is typed.
  function narrow() {
    var box = document.getElementById("finding-search");
    if (!box) { return; }  // a page without the case form
    var text = box.value.trim().toLowerCase();
    var shown = 0;
    document.querySelectorAll("#findings .finding").forEach(function (item) {
      var match = !text || item.dataset.terms.indexOf(text) !== -1;
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    document.querySelectorAll("#findings fieldset").forEach(function (section) {
      section.hidden = !section.querySelector(".finding:not([hidden])");
    });
    document.getElementById("search-status").textContent =
      text ? shown + (shown === 1 ? " finding matches" : " findings match") : "";
  }

  function toggle(checkbox, on) {
    checkbox.checked = on === undefined ? !checkbox.checked : on;
    checkbox.dispatchEvent(new Event("change", { bubbles: true }));
  }

  var focusAnswer = false;

  document.addEventListener("input", function (event) {
    if (event.target.id === "finding-search") { narrow(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.id !== "finding-search") { return; }
    if (event.key === "Enter") {
      event.preventDefault();  // Enter picks a finding instead of sending the form
      var first = document.querySelector("#findings .finding:not([hidden]) input");
      if (first) { toggle(first); }
    } else if (event.key === "Escape") {
      event.target.value = "";
      narrow();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.add-finding");
    if (!button) { return; }
    var checkbox = document.getElementById("finding-" + button.dataset.finding);
    if (checkbox) {
      focusAnswer = true;
      toggle(checkbox, true);
    }
  });

  // Only the fields given go in the request and the address bar.
  document.addEventListener("htmx:configRequest", function (event) {
    var parameters = event.detail.parameters;
    ["age", "symptom_duration_weeks", "egfr", "sex"].forEach(function (name) {
      if (parameters.get ? parameters.get(name) === "" : parameters[name] === "") {
        if (parameters.delete) { parameters.delete(name); } else { delete parameters[name]; }
      }
    });
  });

  var palette = {
    finding: "#1d4f91", class: "#5b3f8c", urgency: "#8a1c1c", procedure: "#1f6b3a"
  };

  function draw() {
    var data = document.getElementById("why-data");
    var container = document.getElementById("why-graph");
    if (!data || !container || typeof cytoscape !== "function") { return; }
    var chain = JSON.parse(data.textContent);
    var detail = document.getElementById("why-detail");
    var elements = chain.nodes.map(function (node) { return { data: node }; })
      .concat(chain.edges.map(function (edge, index) {
        return { data: { id: "edge" + index, source: edge.source, target: edge.target, detail: edge.detail } };
      }));
    var graph = cytoscape({
      container: container,
      elements: elements,
      userZoomingEnabled: false,
      boxSelectionEnabled: false,
      autoungrabify: true,
      layout: { name: "preset" },
      style: [
        { selector: "node", style: {
          "label": "data(label)", "text-wrap": "wrap", "text-max-width": "150px", "font-size": "15px",
          "color": "#ffffff", "text-valign": "center", "text-halign": "center", "shape": "round-rectangle",
          "width": "160px", "height": "58px", "background-color": function (node) { return palette[node.data("kind")] || "#333333"; }
        } },
        { selector: "edge", style: {
          "width": 2, "line-color": "#6b6b6b", "target-arrow-color": "#6b6b6b", "target-arrow-shape": "triangle",
          "curve-style": "bezier"
        } },
        { selector: ":selected", style: { "border-width": 3, "border-color": "#f2c200", "line-color": "#f2c200", "target-arrow-color": "#f2c200" } }
      ]
    });
    // Cytoscape's own breadthfirst layout: the findings on top, each step of the chain a row below.
    // Left to right, as the chain reads: breadthfirst's rows turned into columns.
    graph.layout({
      name: "breadthfirst", directed: true, roots: graph.nodes("[kind = 'finding']"),
      spacingFactor: 1.0, padding: 10, avoidOverlap: true, nodeDimensionsIncludeLabels: true,
      transform: function (node, position) { return { x: position.y * 1.6, y: position.x / 1.6 }; }
    }).run();
    graph.on("tap mouseover", "node, edge", function (event) {
      var item = event.target;
      detail.textContent = item.isEdge() ? item.data("detail") : item.data("label");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    narrow();
    draw();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "answer") {
      draw();
      document.querySelectorAll("p.error").forEach(function (message) {
        var control = document.querySelector("[aria-describedby~='" + message.id + "']");
        if (control) {
          if (message.textContent.trim()) { control.setAttribute("aria-invalid", "true"); }
          else { control.removeAttribute("aria-invalid"); }
        }
      });
      if (focusAnswer) {
        focusAnswer = false;
        document.getElementById("answer").focus();
      }
    }
  });
}());
