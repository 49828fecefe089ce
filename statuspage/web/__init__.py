"""The HTML side: public pages, the admin and sign-in. Thin views only."""
