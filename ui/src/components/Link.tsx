import type { ComponentChildren } from 'preact';
import { linkClick } from '../router.js';

/** An in-app link: a real href (open in a new tab works), navigation without a reload. */
export function Link(props: { href: string; class?: string; children: ComponentChildren; testid?: string }) {
  return (
    <a href={props.href} class={props.class} onClick={linkClick} data-testid={props.testid}>
      {props.children}
    </a>
  );
}
