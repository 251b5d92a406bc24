// Progressive enhancement only: every form works without this script.
"use strict";
(function () {
  // Live updates of the queue and offers on the desk page, by polling; the reader can pause
  // them (WCAG 2.2.2), and a change in the count is announced politely, not every refresh.
  const live = document.getElementById("live");
  const toggle = document.getElementById("auto-refresh");
  if (live && toggle) {
    let last = live.dataset.count;
    setInterval(async () => {
      if (!toggle.checked || live.contains(document.activeElement)) return;
      const response = await fetch("/console/live", { credentials: "same-origin" });
      // A session that ended (idle, expired, signed out everywhere) redirects to the sign-in
      // page, which then says why; the queue is not replaced by it.
      if (response.redirected) {
        window.location.assign(response.url);
        return;
      }
      if (!response.ok) return;
      const html = await response.text();
      const holder = document.createElement("div");
      holder.innerHTML = html;
      const fresh = holder.firstElementChild;
      if (!fresh) return;
      live.innerHTML = fresh.innerHTML;
      if (fresh.dataset.count !== last) {
        last = fresh.dataset.count;
        document.getElementById("status").textContent = "队列已更新：" + last + " 个案件等待回拨";
      }
    }, 10000);
  }

  // The SMS segment counter beside the reply box.
  const reply = document.getElementById("reply-text");
  const counter = document.getElementById("reply-count");
  if (reply && counter) {
    let timer;
    reply.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (!reply.value.trim()) { counter.textContent = "尚未输入内容"; return; }
        const response = await fetch("/console/segments?text=" + encodeURIComponent(reply.value),
          { credentials: "same-origin" });
        if (!response.ok) return;
        const n = await response.json();
        counter.textContent = "将分 " + n.parts + " 条发送，共 " + n.segments + " 个计费短信段";
      }, 400);
    });
  }

  // Read the page's main content aloud with the browser's speech synthesis, where it has one.
  const read = document.getElementById("read-aloud");
  if (read && "speechSynthesis" in window) {
    read.hidden = false;
    read.addEventListener("click", () => {
      if (speechSynthesis.speaking) { speechSynthesis.cancel(); return; }
      const utterance = new SpeechSynthesisUtterance(document.getElementById("main").innerText);
      utterance.lang = "zh-CN";
      speechSynthesis.speak(utterance);
    });
  }
})();
