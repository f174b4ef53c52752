/* valuecast dashboard: charts from /api/v1/charts, the customers table through /api/v1/customers,
   uploads to /api/v1/uploads and /api/v1/spend (and DELETE /api/v1/spend, dropping the kept
   spend) and the non-product names to /api/v1/not-products (PUT, DELETE) with progress.  No
   inline script, no remote file. */
(function () {
  "use strict";
  var body = document.body;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var snapshot = body.getAttribute("data-snapshot");
  // everything stays on this machine: no chart offers Plotly's cloud (its "Share chart..."
  // button is sendChartToCloud here, sendDataToCloud in older plotly.js builds; Chart Studio's
  // edit link is showEditInChartStudio)
  var plotConfig = {
    displaylogo: false, responsive: true, showSendToCloud: false, showEditInChartStudio: false,
    plotlyServerURL: "", modeBarButtonsToRemove: ["select2d", "lasso2d", "sendChartToCloud", "sendDataToCloud"]
  };
  // a finger's swipe over a chart scrolls the page on a touch screen: the charts there take no
  // drag and do not zoom on scrolling, while a mouse still zooms and pans
  var touch = window.matchMedia("(pointer: coarse)").matches;
  if (touch) { plotConfig.scrollZoom = false; }

  function withSnapshot(url) {
    if (!snapshot) { return url; }
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "snapshot=" + encodeURIComponent(snapshot);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.detail ? JSON.stringify(data.detail) : response.statusText); }
          return data;
        });
      });
  }

  // -- auto-submitting selects and checkboxes --------------------------------------------------
  // a select's choice made with the mouse or a finger is sent at once; the arrow keys change a
  // select at every press, so one stepped through with the keyboard is sent by Enter (or the
  // form's button) once the wanted option is reached
  document.querySelectorAll("[data-autosubmit]").forEach(function (element) {
    var stepped = false;
    var select = element.tagName === "SELECT";
    element.addEventListener("pointerdown", function () { stepped = false; });
    element.addEventListener("keydown", function (event) {
      if (!select) { return; }
      if (event.key === "Enter") {
        event.preventDefault();
        element.form.submit();
      } else {
        stepped = true;
      }
    });
    element.addEventListener("change", function () {
      if (!(select && stepped)) { element.form.submit(); }
    });
  });

  // -- charts ----------------------------------------------------------------------------------
  function forPointer(layout) {
    if (touch) { layout.dragmode = false; }
    return layout;
  }

  function drawCharts() {
    var blocks = Array.prototype.slice.call(document.querySelectorAll("[data-figure]"));
    var inline = Array.prototype.slice.call(document.querySelectorAll("[data-inline-figure]"));
    var plots = inline.map(function (element) {
      var data = document.getElementById("figure-" + element.getAttribute("data-inline-figure"));
      var figure = JSON.parse(data.textContent);
      return Plotly.newPlot(element, figure.data, forPointer(figure.layout || {}), plotConfig);
    });
    var loaded = Promise.resolve();
    if (blocks.length) {
      var page = body.getAttribute("data-page");
      loaded = getJSON(withSnapshot("/api/v1/charts/" + encodeURIComponent(page))).then(function (payload) {
        blocks.forEach(function (element) {
          var figure = payload.figures[element.getAttribute("data-figure")];
          if (!figure) { throw new Error("no figure " + element.getAttribute("data-figure")); }
          var layout = figure.layout || {};
          layout.template = payload.template;
          plots.push(Plotly.newPlot(element, figure.data, forPointer(layout), plotConfig));
        });
      });
    }
    loaded.then(function () { return Promise.all(plots); }).then(
      function () { body.setAttribute("data-charts-ready", String(plots.length)); },
      function (error) { body.setAttribute("data-charts-error", String(error)); console.error(error); }
    );
  }
  if (window.Plotly) { drawCharts(); } else { body.setAttribute("data-charts-error", "plotly.js did not load"); }

  // paper cannot scroll: a chart whose legend is taller than its plot (Plotly scrolls such a
  // legend, hiding entries) grows for print until every entry shows, and shrinks back after
  var screenHeights = new Map();

  function hiddenLegendHeight(gd) {
    var legend = gd._fullLayout && gd._fullLayout.showlegend && gd._fullLayout.legend;
    return legend ? Math.ceil(legend._height - legend._effHeight) : 0;
  }

  function growForPrint(gd) {
    // a few steps at most: the plot's new height can leave the legend a pixel or two short
    for (var step = 0; step < 3 && hiddenLegendHeight(gd) > 0; step++) {
      if (!screenHeights.has(gd)) { screenHeights.set(gd, gd.layout.height); }
      Plotly.relayout(gd, { height: gd._fullLayout.height + hiddenLegendHeight(gd) });
    }
  }

  function shrinkAfterPrint() {
    screenHeights.forEach(function (height, gd) {
      Plotly.relayout(gd, { height: height === undefined ? null : height });
    });
    screenHeights.clear();
  }

  function growEveryChartForPrint() {
    document.querySelectorAll(".js-plotly-plot").forEach(growForPrint);
  }

  if (window.Plotly) {
    window.addEventListener("beforeprint", growEveryChartForPrint);
    window.addEventListener("afterprint", shrinkAfterPrint);
    // a switch to print media without the print events (emulated print media) does the same;
    // a browser whose media queries take no event listener has the print events alone
    var printMedia = window.matchMedia("print");
    if (printMedia.addEventListener) {
      printMedia.addEventListener("change", function (event) {
        if (event.matches) { growEveryChartForPrint(); } else { shrinkAfterPrint(); }
      });
    }
  }

  // -- the customers table ---------------------------------------------------------------------
  var table = document.getElementById("customers-table");
  var MONEY = { historic_clv: 1, predicted_clv: 1, predicted_clv_p10: 1, predicted_clv_p90: 1 };

  function text(value) { return document.createTextNode(value); }

  // a whole number as Python's format rounds it: an exact half to the even one (12.5: 12)
  function roundHalfEven(x) {
    var rounded = Math.round(x);
    return (Math.abs(x % 1) === 0.5 && rounded % 2 !== 0) ? rounded - 1 : rounded;
  }

  // the server's alive_pct_text: a P(alive) under the next order's threshold that would round
  // to it is shown to one decimal, rounded down (0.498: 49.8%, not 50%)
  function alivePct(value) {
    if (value > 0 && value < 0.005) { return "under 1%"; }
    var threshold = Number(table.getAttribute("data-next-order-min-alive"));
    var whole = roundHalfEven(value * 100);
    if (value < threshold && whole === roundHalfEven(threshold * 100)) {
      return (Math.floor(value * 1000) / 10).toFixed(1) + "%";
    }
    return whole + "%";
  }

  function formatCell(column, value) {
    if (value === null || value === undefined || value === "") { return "-"; }
    if (column === "probability_alive") { return alivePct(value); }
    if (MONEY[column]) {
      return Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    if (typeof value === "number") { return Number(value).toLocaleString("en-US"); }
    if (typeof value === "boolean") { return value ? "yes" : "no"; }
    return String(value);
  }

  function customersState() {
    var form = document.getElementById("customer-search");
    return {
      q: form.elements.q.value,
      sort: form.elements.sort.value,
      order: form.elements.order.value,
      page: 1,
    };
  }

  function pageUrl(base, state, chosen) {
    var params = new URLSearchParams();
    if (chosen || snapshot) { params.set("snapshot", chosen || snapshot); }
    if (state.q) { params.set("q", state.q); }
    params.set("sort", state.sort);
    params.set("order", state.order);
    if (state.page > 1) { params.set("page", String(state.page)); }
    return base + "?" + params.toString();
  }

  function renderCustomers(result) {
    var columns = Array.prototype.map.call(table.querySelectorAll("thead a.sort"), function (a) {
      return a.getAttribute("data-sort");
    });
    var tbody = table.querySelector("tbody");
    tbody.textContent = "";
    result.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      columns.forEach(function (column) {
        var td = document.createElement("td");
        if (column === "customer_id") {
          var a = document.createElement("a");
          a.className = "customer-link";
          a.href = "/customers/" + encodeURIComponent(row.customer_id) + (snapshot ? "?snapshot=" + snapshot : "");
          a.appendChild(text(row.customer_id));
          td.appendChild(a);
          if (row.email && row.email !== row.customer_id) {
            var span = document.createElement("span");
            span.className = "muted";
            td.appendChild(document.createElement("br"));
            span.appendChild(text(row.email));
            td.appendChild(span);
          }
        } else {
          td.appendChild(text(formatCell(column, row[column])));
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    if (!result.rows.length) {
      var empty = document.createElement("tr");
      var cell = document.createElement("td");
      cell.colSpan = columns.length;
      cell.className = "no-data";
      cell.appendChild(text("No customer matches."));
      empty.appendChild(cell);
      tbody.appendChild(empty);
    }
    table.querySelectorAll("thead th").forEach(function (th) {
      var a = th.querySelector("a.sort");
      var column = a.getAttribute("data-sort");
      var active = column === result.sort;
      var label = a.textContent.replace(/ [▲▼]$/, "");
      a.textContent = label + (active ? (result.order === "desc" ? " ▼" : " ▲") : "");
      var next = active && result.order === "desc" ? "asc" : "desc";
      a.setAttribute("data-order", next);
      a.href = pageUrl("/customers", { q: result.q, sort: column, order: next, page: 1 });
      if (active) { th.setAttribute("aria-sort", result.order === "desc" ? "descending" : "ascending"); }
      else { th.removeAttribute("aria-sort"); }
    });
    var plural = result.total === 1 ? "" : "s";
    document.getElementById("customer-count").textContent =
      result.total.toLocaleString("en-US") + " customer" + plural +
      (result.q ? " matching “" + result.q + "”" : "") +
      "; page " + result.page.toLocaleString("en-US") + " of " + result.pages.toLocaleString("en-US") + ".";
    var pager = document.querySelector("nav.pager");
    pager.textContent = "";
    function link(label, page, rel) {
      var a = document.createElement("a");
      a.rel = rel;
      a.setAttribute("data-page", String(page));
      a.href = pageUrl("/customers", { q: result.q, sort: result.sort, order: result.order, page: page });
      a.appendChild(text(label));
      pager.appendChild(a);
    }
    if (result.page > 1) { link("← previous", result.page - 1, "prev"); }
    var span = document.createElement("span");
    span.appendChild(text("page " + result.page.toLocaleString("en-US") + " of " + result.pages.toLocaleString("en-US")));
    pager.appendChild(span);
    if (result.page < result.pages) { link("next →", result.page + 1, "next"); }
    var form = document.getElementById("customer-search");
    form.elements.sort.value = result.sort;
    form.elements.order.value = result.order;
  }

  // the search and sort go along when another snapshot is chosen: the snapshot picker's
  // hidden fields and the link to the latest snapshot, written for the page as it was loaded,
  // follow the table (its page is not kept: the other snapshot's pages hold other customers)
  function keepView(state) {
    var picker = document.querySelector("form.snapshot-picker");
    var values = { q: state.q, sort: state.sort, order: state.order };
    if (picker) {
      Object.keys(values).forEach(function (name) {
        var field = picker.querySelector('input[type="hidden"][name="' + name + '"]');
        if (!values[name]) {
          if (field) { field.remove(); }
          return;
        }
        if (!field) {
          field = document.createElement("input");
          field.type = "hidden";
          field.name = name;
          picker.insertBefore(field, picker.querySelector("button"));
        }
        field.value = values[name];
      });
    }
    var latest = document.getElementById("show-latest");
    if (latest) {
      latest.href = pageUrl("/customers", { q: state.q, sort: state.sort, order: state.order, page: 1 },
                            latest.getAttribute("data-snapshot"));
    }
  }

  // each sort, search and page is an entry of the browser's history, so that Back returns to
  // the one before it (and the address can be bookmarked or reloaded); a popped entry is shown
  // again without adding one
  function loadCustomers(state, popped) {
    table.classList.add("loading");
    return getJSON(pageUrl(table.getAttribute("data-api"), state)).then(function (result) {
      renderCustomers(result);
      if (!popped) { history.pushState({ customers: state }, "", pageUrl("/customers", state)); }
      keepView(state);
      body.setAttribute("data-customers-loaded", String(Date.now()));
    }, function (error) {
      document.getElementById("customer-count").textContent = "Could not load customers: " + error.message;
    }).then(function () { table.classList.remove("loading"); });
  }

  if (table) {
    var shown = customersState();
    shown.page = parseInt(new URLSearchParams(window.location.search).get("page"), 10) || 1;
    history.replaceState({ customers: shown }, "", window.location.href);
    window.addEventListener("popstate", function (event) {
      if (!event.state || !event.state.customers) { return; }
      var state = event.state.customers;
      document.getElementById("customer-search").elements.q.value = state.q;
      loadCustomers(state, true);
    });
    document.getElementById("customer-search").addEventListener("submit", function (event) {
      event.preventDefault();
      loadCustomers(customersState());
    });
    table.querySelector("thead").addEventListener("click", function (event) {
      var a = event.target.closest("a.sort");
      if (!a) { return; }
      event.preventDefault();
      var state = customersState();
      state.sort = a.getAttribute("data-sort");
      state.order = a.getAttribute("data-order");
      loadCustomers(state);
    });
    document.querySelector("nav.pager").addEventListener("click", function (event) {
      var a = event.target.closest("a[data-page]");
      if (!a) { return; }
      event.preventDefault();
      var state = customersState();
      state.page = parseInt(a.getAttribute("data-page"), 10);
      loadCustomers(state);
    });
  }

  // -- uploads ---------------------------------------------------------------------------------
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var bar = form.querySelector("progress");
    var step = form.querySelector(".step");
    var box = form.querySelector(".progress");
    var problem = form.querySelector(".error");
    var button = form.querySelector("button");

    function fail(message) {
      problem.textContent = message;
      problem.hidden = false;
      button.disabled = false;
      form.setAttribute("data-upload-state", "failed");
    }

    function poll(job) {
      bar.value = job.progress;
      step.textContent = job.step + " (" + Math.round(job.seconds) + " s)";
      if (job.state === "done") {
        form.setAttribute("data-upload-state", "done");
        var target = "/data?job=" + encodeURIComponent(job.job_id);
        if (job.snapshot) { target += "&snapshot=" + job.snapshot.snapshot_id; }
        if (form.id === "spend-upload" || form.id === "spend-drop") {
          target = "/channels" + (job.snapshot ? "?snapshot=" + job.snapshot.snapshot_id : "");
        }
        if (form.id === "not-products-set" || form.id === "not-products-forget") {
          target = "/products" + (job.snapshot ? "?snapshot=" + job.snapshot.snapshot_id : "");
        }
        window.location.assign(target);
        return;
      }
      if (job.state === "failed") { fail(job.error || "the upload failed"); return; }
      setTimeout(function () {
        getJSON("/api/v1/jobs/" + encodeURIComponent(job.job_id)).then(poll, function (error) { fail(error.message); });
      }, 400);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      problem.hidden = true;
      box.hidden = false;
      button.disabled = true;
      bar.value = 0;
      var file = form.querySelector('input[type="file"]');
      step.textContent = file ? "sending the file" : "sending the request";
      form.setAttribute("data-upload-state", "sending");
      var request = new XMLHttpRequest();
      request.open(form.getAttribute("data-method") || "POST", form.getAttribute("data-upload"));
      request.setRequestHeader("X-CSRF-Token", csrf);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = 0.1 * e.loaded / e.total;
          step.textContent = "sending the file: " + Math.round(100 * e.loaded / e.total) + "%";
        }
      });
      request.addEventListener("load", function () {
        var data = {};
        try { data = JSON.parse(request.responseText); } catch (error) { data = { detail: request.statusText }; }
        if (request.status === 202) { form.setAttribute("data-upload-state", "processing"); poll(data); }
        else { fail(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)); }
      });
      request.addEventListener("error", function () { fail(file ? "the upload could not be sent" : "the request could not be sent"); });
      // a form of text fields (the non-product names) is sent as its fields
      var fields = file || form.querySelector("textarea");
      request.send(fields ? new FormData(form) : null);
    });
  });
})();
