"""The posts JSON API: reads, writes, and bad input answered with a clear 4xx."""
from tests.helpers.web import login


def create(client, title="A night of Ozu", body="Tokyo Story at 7pm."):
    return client.post("/api/posts", json={"title": title, "body": body})


def test_list_returns_page_envelope(client, make_user):
    make_user()
    login(client)
    for i in range(3):
        assert create(client, title=f"Post {i}").status_code == 201
    data = client.get("/api/posts?page=1&per_page=2").get_json()
    assert set(data) == {"items", "page", "per_page", "pages", "total"}
    assert (data["page"], data["per_page"], data["pages"], data["total"]) == (1, 2, 2, 3)
    assert [p["title"] for p in data["items"]] == ["Post 2", "Post 1"]
    assert data["items"][0]["author"] == {"id": data["items"][0]["author"]["id"], "name": "Ada"}


def test_create_returns_201_and_location(client, make_user):
    make_user()
    login(client)
    response = create(client)
    assert response.status_code == 201
    post = response.get_json()
    assert response.headers["Location"] == f"/api/posts/{post['id']}"
    assert client.get(f"/api/posts/{post['id']}").get_json()["title"] == "A night of Ozu"


def test_writes_need_a_signed_in_user(client):
    response = create(client)
    assert response.status_code == 401
    assert "sign in" in response.get_json()["error"]


def test_only_the_author_may_edit_or_delete(client, make_user):
    make_user()
    make_user(email="bob@example.com", name="Bob")
    login(client)
    post_id = create(client).get_json()["id"]
    client.post("/api/auth/logout")
    login(client, "bob@example.com")
    assert client.patch(f"/api/posts/{post_id}", json={"title": "mine now"}).status_code == 403
    assert client.delete(f"/api/posts/{post_id}").status_code == 403
    assert client.get(f"/api/posts/{post_id}").get_json()["title"] == "A night of Ozu"


def test_author_patches_and_deletes(client, make_user):
    make_user()
    login(client)
    post_id = create(client).get_json()["id"]
    response = client.patch(f"/api/posts/{post_id}", json={"body": "Moved to 8pm."})
    assert response.status_code == 200
    assert response.get_json()["body"] == "Moved to 8pm."
    assert client.delete(f"/api/posts/{post_id}").status_code == 204
    assert client.get(f"/api/posts/{post_id}").status_code == 404


def test_malformed_json_is_400(client, make_user):
    make_user()
    login(client)
    response = client.post("/api/posts", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "malformed JSON" in response.get_json()["error"]


def test_missing_fields_are_422_with_field_names(client, make_user):
    make_user()
    login(client)
    response = client.post("/api/posts", json={"title": "only a title"})
    assert response.status_code == 422
    assert response.get_json()["details"][0]["field"] == "body"


def test_over_long_title_is_422(client, make_user):
    make_user()
    login(client)
    response = create(client, title="x" * 201)
    assert response.status_code == 422
    detail = response.get_json()["details"][0]
    assert detail["field"] == "title" and "200" in detail["message"]


def test_unknown_fields_and_empty_patch_are_422(client, make_user):
    make_user()
    login(client)
    post_id = create(client).get_json()["id"]
    assert client.post("/api/posts", json={"title": "t", "body": "b", "author_id": 9}).status_code == 422
    assert client.patch(f"/api/posts/{post_id}", json={}).status_code == 422


def test_non_json_body_is_415(client, make_user):
    make_user()
    login(client)
    response = client.post("/api/posts", data={"title": "t", "body": "b"})
    assert response.status_code == 415


def test_unknown_ids_are_404(client, make_user):
    make_user()
    login(client)
    assert client.get("/api/posts/999999").status_code == 404
    assert client.patch("/api/posts/999999", json={"title": "x"}).status_code == 404
    assert client.delete("/api/posts/999999").status_code == 404
    assert client.get("/api/posts/not-a-number").status_code == 404


def test_bad_paging_is_400(client):
    for query in ("page=0", "page=abc", "per_page=0", "per_page=100000", "page=99999999999999999999",
                  "per_page=%C2%B2", "page=-1", "page=1.5"):
        response = client.get(f"/api/posts?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]


def test_posts_per_page_is_the_default_of_the_pages_and_the_api_alike(app_factory, make_user):
    """One page reader: POSTS_PER_PAGE sets the default page size of /posts/ and /api/posts."""
    app = app_factory(POSTS_PER_PAGE=2)
    client = app.test_client()
    make_user()
    login(client)
    for i in range(3):
        assert create(client, title=f"Paged post {i}").status_code == 201
    data = client.get("/api/posts").get_json()
    assert (data["per_page"], len(data["items"]), data["pages"]) == (2, 2, 2)
    page = client.get("/posts/").get_data(as_text=True)
    assert sum(f"Paged post {i}" in page for i in range(3)) == 2
    refused = client.get("/api/posts?per_page=abc")
    assert refused.status_code == 400
    assert refused.get_json()["details"] == [{"field": "per_page", "message": refused.get_json()["error"]}]
