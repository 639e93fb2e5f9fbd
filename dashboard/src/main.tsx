// The dashboard's entry point: the pages without a session, and the signed-in area.
import { render } from "preact";
import { LocationProvider, Route, Router } from "preact-iso";
import { Dashboard } from "./pages/Dashboard";
import { InvitationPage, SignInPage, SignUpPage, VerifyEmailPage } from "./pages/Entry";
import "./styles.css";

function NotFound() {
  return (
    <main class="entry">
      <section class="entry-card">
        <h1>Page not found</h1>
        <p>
          <a href="/app">Go to the inbox</a>
        </p>
      </section>
    </main>
  );
}

function App() {
  return (
    <LocationProvider>
      <Router>
        <Route path="/signin" component={SignInPage} />
        <Route path="/signup" component={SignUpPage} />
        <Route path="/verify-email" component={VerifyEmailPage} />
        <Route path="/invitation" component={InvitationPage} />
        <Route path="/app" component={Dashboard} />
        <Route path="/app/*" component={Dashboard} />
        <Route default component={NotFound} />
      </Router>
    </LocationProvider>
  );
}

render(<App />, document.getElementById("app")!);
