use super::{classify, keys, Store, StoreError};
use crate::domain::pricing::Offer;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct OfferItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    offer: Offer,
}

impl Store {
    /// Creates or replaces an offer.
    pub async fn put_offer(&self, offer: &Offer) -> Result<(), StoreError> {
        let item = OfferItem {
            pk: keys::offer_pk(&offer.code),
            sk: keys::OFFER_SK.into(),
            gsi1pk: keys::OFFERS_GSI1PK.into(),
            gsi1sk: offer.code.clone(),
            offer: offer.clone(),
        };
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(&item)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub async fn get_offer(&self, code: &str) -> Result<Option<Offer>, StoreError> {
        let item: Option<OfferItem> = self
            .get_as(keys::offer_pk(code), keys::OFFER_SK, false)
            .await?;
        Ok(item.map(|i| i.offer))
    }

    pub async fn list_offers(&self) -> Result<Vec<Offer>, StoreError> {
        let items = self
            .query_all(Some(keys::GSI1), "gsi1pk", keys::OFFERS_GSI1PK.into())
            .await?;
        items
            .into_iter()
            .map(|i| Ok(serde_dynamo::from_item::<_, OfferItem>(i)?.offer))
            .collect()
    }
}
