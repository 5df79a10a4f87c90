import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing here. Go to the <Link to="/">overview</Link>.
      </p>
    </section>
  );
}
