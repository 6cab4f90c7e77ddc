// The patient's ticket page on their phone: a chime (drawn with WebAudio, no sound file) and a vibration when they
// are called. Browsers play sound only after a first tap on the page, so a "tap to turn on sound" button shows
// until then; any tap on the page counts.
(function () {
  if (window.clinicTicket) return;
  const ticket = (window.clinicTicket = { alerts: [] }); // alerts: when each call alerted, for tests
  let audio = null;
  let prompt = null;

  ticket.init = function (options) {
    const Context = window.AudioContext || window.webkitAudioContext;
    audio = Context ? new Context() : null;
    prompt = document.createElement("button");
    prompt.type = "button";
    prompt.className = "ticket-sound-prompt";
    prompt.textContent = options.enableText;
    prompt.addEventListener("click", unlock);
    document.body.appendChild(prompt);
    document.addEventListener("pointerdown", unlock, true);
    if (audio) audio.addEventListener("statechange", showPrompt);
    showPrompt();
  };

  ticket.soundOn = () => !!audio && audio.state === "running";

  function showPrompt() {
    if (prompt) prompt.hidden = !audio || ticket.soundOn();
  }

  function unlock() {
    if (!audio || audio.state === "running") return;
    audio.resume().then(() => {
      // a silent blip: iOS unlocks the output only when something is played inside the tap
      const gain = audio.createGain();
      gain.gain.value = 0;
      gain.connect(audio.destination);
      const tone = audio.createOscillator();
      tone.connect(gain);
      tone.start();
      tone.stop(audio.currentTime + 0.01);
      showPrompt();
    }).catch(() => {});
  }

  // Called: three rising notes (C5, E5, G5) twice, and the phone vibrates where it can (not on iPhones).
  ticket.alert = function () {
    ticket.alerts.push(Date.now());
    if (navigator.vibrate) {
      try { navigator.vibrate([400, 200, 400, 200, 400]); } catch (error) { /* not allowed before a tap */ }
    }
    if (!ticket.soundOn()) return;
    const start = audio.currentTime + 0.05;
    [0, 1.2].forEach((round) => {
      [523.25, 659.25, 783.99].forEach((frequency, index) => {
        const at = start + round + index * 0.22;
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.type = "sine";
        tone.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.6);
        tone.connect(gain).connect(audio.destination);
        tone.start(at);
        tone.stop(at + 0.65);
      });
    });
  };
})();
