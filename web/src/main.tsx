import { render } from "preact";
import { bindLiveToSession } from "./app/live";
import { App } from "./components/App";
import "./lib/theme";
import "./styles.css";

bindLiveToSession();
const root = document.getElementById("app");
if (root) render(<App />, root);
