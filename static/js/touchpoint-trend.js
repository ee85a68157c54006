// Draw a touchpoint's monthly interactions and the business's own figures (Chart.js, served locally).
(function () {
  const data = JSON.parse(document.getElementById("trend-data").textContent);
  const brand = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() || "#1f4e5f";
  new Chart(document.getElementById("trend"), {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: "Interactions", data: data.interactions, backgroundColor: brand }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  document.querySelectorAll("canvas.spark").forEach(function (canvas) {
    new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: [{ data: data.metrics[canvas.dataset.name], borderColor: brand, spanGaps: true, pointRadius: 2 }] },
      options: { plugins: { legend: { display: false } }, scales: { x: { display: false } } },
    });
  });
})();
