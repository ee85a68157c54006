// Charts of the loyalty dashboard, drawn with Chart.js served from our own host.
(function () {
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const brand = "#1f4e5f", soft = "#8fb3c0", warm = "#e0a458";
  const monthly = read("monthly-data");
  new Chart(document.getElementById("monthly"), {
    type: "line",
    data: {
      labels: monthly.map((m) => m.month),
      datasets: [
        { label: "Visit days", data: monthly.map((m) => m.visit_days), borderColor: brand, backgroundColor: brand, tension: 0.2 },
        { label: "Purchases", data: monthly.map((m) => m.purchases), borderColor: warm, backgroundColor: warm, tension: 0.2 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const touchpoints = read("touchpoint-data");
  new Chart(document.getElementById("touchpoints"), {
    type: "bar",
    data: {
      labels: touchpoints.map((t) => t.touchpoint),
      datasets: [
        { label: "Before", data: touchpoints.map((t) => t.before), backgroundColor: soft },
        { label: "During", data: touchpoints.map((t) => t.during), backgroundColor: brand },
        { label: "After", data: touchpoints.map((t) => t.after), backgroundColor: warm },
      ],
    },
    options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } },
  });
  const categories = read("category-data");
  new Chart(document.getElementById("categories"), {
    type: "bar",
    data: { labels: categories.map((c) => c.category), datasets: [{ label: "Gestures", data: categories.map((c) => c.gestures), backgroundColor: brand }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();
