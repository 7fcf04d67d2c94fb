import { useState } from 'react';

const DISMISSED_KEY = 'blyan.intro-dismissed';

/** What a first-time visitor needs to know; dismissed once, remembered, and reopened from the header. */
export function useIntro() {
  const [open, setOpen] = useState(() => localStorage.getItem(DISMISSED_KEY) === null);
  const dismiss = () => {
    localStorage.setItem(DISMISSED_KEY, '1');
    setOpen(false);
  };
  return { open, show: () => setOpen(true), dismiss };
}

export function Intro({ dismiss }: { dismiss: () => void }) {
  return (
    <section className="intro" data-testid="intro" aria-label="What is Blyan">
      <h2>Blyan: a language model that runs in this browser</h2>
      <ul>
        <li><b>Chat</b>: type the start of a text and the model continues it. The answer is computed <b>on this device</b>; nothing you type is sent anywhere.</li>
        <li>The model is published as a chain of signed blocks. The page downloads only the parts (experts) your text needs, checks every byte against the chain, and keeps them, so it also works offline. <b>Explorer</b> shows those blocks.</li>
        <li><b>Contribute</b> (after signing in with an Ethereum wallet) lends this browser’s idle GPU to train one expert. Your update is kept only if it measurably improves the model, and then you are credited.</li>
      </ul>
      <button type="button" onClick={dismiss} data-testid="intro-dismiss">Got it</button>
    </section>
  );
}
