import type { ComponentChildren } from "preact";
import { navigate } from "../app/router";
import { formatRoute, type Route } from "../lib/route";

/** A real link (shareable, opens in a new tab) that navigates in place on a plain click. */
export function Link(props: {
  to: Route;
  children: ComponentChildren;
  class?: string;
  current?: boolean;
  label?: string;
  onNavigate?: () => void;
}) {
  return (
    <a
      href={formatRoute(props.to)}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      aria-label={props.label}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.to);
        props.onNavigate?.();
      }}
    >
      {props.children}
    </a>
  );
}
