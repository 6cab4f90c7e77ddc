// The self check-in kiosk in the browser: keeps the scanner's input focused on the start screen (a USB or
// Bluetooth scanner types the code and Enter), reads QR codes with the tablet's camera where the browser has
// BarcodeDetector, and prints the ticket slip from a hidden frame (the kiosk never leaves its page).
window.clinicKiosk = (() => {
  let stream = null, timer = null, lastText = '', lastAt = 0;

  function scanner() { return document.querySelector('.kiosk-scanner input'); }

  // On the start screen, whatever a scanner types goes to its input, unless the patient is typing elsewhere.
  setInterval(() => {
    const input = scanner();
    const active = document.activeElement;
    if (input && active !== input && !(active && ['INPUT', 'TEXTAREA'].includes(active.tagName))) input.focus();
  }, 700);

  async function startCamera() {
    const video = document.querySelector('.kiosk-camera video');
    if (!video || stream || !('BarcodeDetector' in window) || !navigator.mediaDevices) return;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (!formats.includes('qr_code')) return;
      const detector = new window.BarcodeDetector({formats: ['qr_code']});
      stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: 'user'}, audio: false});
      video.srcObject = stream;
      await video.play();
      document.querySelector('.kiosk-camera').classList.add('kiosk-camera-on');
      timer = setInterval(async () => {
        if (video.readyState < 2) return;
        try {
          const codes = await detector.detect(video);
          const text = codes.length ? codes[0].rawValue : '';
          const now = Date.now();
          if (text && (text !== lastText || now - lastAt > 5000)) {  // one code once, not ten times a second
            lastText = text; lastAt = now;
            emitEvent('kiosk_code', text);
          }
        } catch (e) { /* a frame that cannot be read: the next one */ }
      }, 350);
    } catch (e) {
      stopCamera();  // no camera, or not allowed: the scanner and the phone number remain
    }
  }

  function stopCamera() {
    if (timer) clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(track => track.stop());
    stream = null;
  }

  function print(url) {
    let frame = document.getElementById('kiosk-print');
    if (frame) frame.remove();
    frame = document.createElement('iframe');
    frame.id = 'kiosk-print';
    frame.style.cssText = 'position:fixed;width:0;height:0;border:0;right:0;bottom:0';
    frame.onload = () => { try { frame.contentWindow.focus(); frame.contentWindow.print(); } catch (e) {} };
    frame.src = url;
    document.body.appendChild(frame);
  }

  return {startCamera, stopCamera, print};
})();
