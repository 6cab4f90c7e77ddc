// The waiting-room board in the browser: the clinic's clock, the one-tap "enable sound" prompt, and the calls:
// a chime, then the spoken announcement (speech synthesis). Calls queue up and never overlap.
(function () {
  if (window.clinicBoard) return;
  const board = (window.clinicBoard = { log: [] }); // log: the last announcements, for tests and debugging
  const pending = [];
  let options = {};
  let audio = null;
  let busy = false;
  let prompt = null;

  board.init = function (opts) {
    options = opts;
    audio = window.AudioContext ? new AudioContext() : null;
    prompt = document.createElement("button");
    prompt.className = "board-sound-prompt";
    prompt.textContent = opts.enableText;
    prompt.addEventListener("click", unlock);
    document.body.appendChild(prompt);
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true); // a TV remote's OK button counts as a touch
    if (audio) audio.addEventListener("statechange", showPrompt);
    if (window.speechSynthesis) speechSynthesis.getVoices(); // voices load asynchronously
    showPrompt();
    startClock();
    listen();
    rotate();
  };

  // A board in two languages shows each in turn (the markup carries both; CSS shows the one in data-show), and
  // writes the date and the sound prompt in it.
  let shown = 0;
  let rotation = null;
  function rotate() {
    if (rotation) clearInterval(rotation);
    const languages = options.languages || [];
    if (languages.length < 2) return;
    rotation = setInterval(() => {
      shown = (shown + 1) % languages.length;
      const language = languages[shown];
      const element = document.querySelector(".board");
      if (element) element.setAttribute("data-show", language.code);
      options.locale = language.locale;
      if (prompt) prompt.textContent = language.enableText;
      formatClock();
    }, (options.rotateSeconds || 10) * 1000);
  }

  // Settings changed while the board is open (the announcement language): new calls use the new ones.
  board.configure = function (opts) {
    options = Object.assign({}, options, opts);
    shown = 0;
    const element = document.querySelector(".board");
    if (element && options.languages && options.languages.length) element.setAttribute("data-show", options.languages[0].code);
    if (prompt) prompt.textContent = options.enableText;
    formatClock();
    rotate();
  };

  // The "Now calling" line carries data-say="[[sequence, text, queue, voice, part], ...]" (the last few calls, one entry per
  // language of the board: they are said one after the other); every entry
  // with a sequence not seen yet is announced, and its queue's card flashes. The calls already in the list when
  // the page opens were made before: they are not announced (sequences belong to all boards of one key).
  function listen() {
    let last = null;
    const entries = (element) => {
      try { return JSON.parse((element && element.getAttribute("data-say")) || "[]"); } catch (error) { return []; }
    };
    const check = () => {
      const element = document.querySelector("[data-say]");
      if (!element) return;
      if (last === null) {
        last = Math.max(0, ...entries(element).map((entry) => entry[0]));
        return;
      }
      for (const [sequence, text, queue, voice, part] of entries(element)) {
        if (sequence > last) {
          last = sequence;
          if (!part) flash(queue);
          board.announce(text, voice, Boolean(part));
        }
      }
    };
    new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true,
                                                          attributeFilter: ["data-say"] });
    check();
    receive();
  }

  // A queue's change is sent once to every board of the same key ("clinic_board": the queue's id, its card's
  // markup, escaped by the server, and the "Now calling" line when it changed). It is put in NiceGUI's own copy
  // of the page, so the page stays exactly as NiceGUI would have drawn it (and the announcements follow above).
  function receive() {
    if (!window.socket) return setTimeout(receive, 50); // NiceGUI opens its socket once the page is mounted
    window.socket.on("clinic_board", (message) => {
      place(document.querySelector(`.board-card[data-queue-id="${Number(message.queue)}"]`), message.card);
      if (message.latest) place(document.querySelector(".board-latest"), message.latest);
    });
  }

  function place(element, html) {
    if (!element || typeof html !== "string") return;
    const stored = typeof mounted_app !== "undefined" && mounted_app ? mounted_app.elements[element.id.slice(1)] : null;
    if (stored) stored.props.innerHTML = html;
    else element.innerHTML = html;
  }

  function flash(queue) {
    const card = document.querySelector(`.board-card[data-queue="${CSS.escape(queue || "")}"]`);
    if (!card) return;
    card.classList.remove("board-flash");
    void card.offsetWidth; // restart the animation when the same queue calls again
    card.classList.add("board-flash");
  }

  board.soundAllowed = () => !audio || audio.state === "running";

  function showPrompt() {
    prompt.hidden = board.soundAllowed();
  }

  function unlock() {
    if (audio && audio.state !== "running") audio.resume().then(showPrompt, showPrompt);
    if (window.speechSynthesis && !board.unlockedSpeech) {
      board.unlockedSpeech = true;
      const silent = new SpeechSynthesisUtterance(" ");
      silent.volume = 0;
      speechSynthesis.speak(silent);
    }
  }

  let time = null;
  let date = null;

  function formatClock() {
    const zone = options.timeZone;
    time = new Intl.DateTimeFormat(options.locale, { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false });
    date = new Intl.DateTimeFormat(options.locale, { timeZone: zone, weekday: "long", day: "numeric", month: "long" });
  }

  function startClock() {
    const zone = options.timeZone;
    formatClock();
    const dayKey = new Intl.DateTimeFormat("en-CA", { timeZone: zone });
    const today = dayKey.format(new Date());
    let checking = false;
    setInterval(tick, 1000);
    tick();

    function tick() {
      const now = new Date();
      document.querySelectorAll(".board-clock").forEach((el) => (el.textContent = time.format(now)));
      document.querySelectorAll(".board-date").forEach((el) => (el.textContent = date.format(now)));
      // a new clinic day: ticket numbers restart, so start afresh (only once the server answers)
      if (dayKey.format(now) !== today && !busy && !checking && now.getSeconds() % 30 === 0) {
        checking = true;
        fetch(location.href, { cache: "no-store" })
          .then((response) => (response.ok ? location.reload() : null))
          .catch(() => null)
          .finally(() => (checking = false));
      }
    }
  }

  // followUp: the same call in the board's next language (no second chime)
  board.announce = function (text, voice, followUp) {
    pending.push({ text, voice, followUp });
    while (pending.length > 12) pending.shift(); // after a long outage, do not read out a whole morning
    next();
  };

  async function next() {
    if (busy || !pending.length) return;
    busy = true;
    const call = pending.shift();
    const entry = { text: call.text, voice: call.voice || options.lang, start: Date.now(), end: null };
    board.log.push(entry);
    if (board.log.length > 20) board.log.shift();
    try {
      if (!call.followUp) await chime();
      await speak(entry.text, entry.voice);
    } catch (error) {
      console.warn("announcement failed", error);
    }
    entry.end = Date.now();
    await sleep(700);
    busy = false;
    next();
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function chime() {
    if (!audio || audio.state !== "running") return;
    const start = audio.currentTime + 0.05;
    [[659.25, 0], [523.25, 0.45]].forEach(([frequency, offset]) => { // "ding-dong": E5 then C5
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.5, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.9);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 1);
    });
    await sleep(1400);
  }

  function voiceFor(lang) {
    const voices = window.speechSynthesis ? speechSynthesis.getVoices() : [];
    const prefix = lang.slice(0, 2).toLowerCase();
    return voices.find((v) => v.lang.toLowerCase() === lang.toLowerCase()) ||
      voices.find((v) => v.lang.toLowerCase().startsWith(prefix)) || null;
  }

  function speak(text, lang) {
    return new Promise((resolve) => {
      if (!window.speechSynthesis) return resolve();
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = lang || options.lang;
      utterance.rate = 0.9;
      const voice = voiceFor(utterance.lang);
      if (voice) utterance.voice = voice;
      const timer = setTimeout(done, 15000); // some devices never report the end
      utterance.onend = done;
      utterance.onerror = done;
      speechSynthesis.speak(utterance);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
})();
