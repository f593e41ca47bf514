use super::{classify, keys, Store, StoreError};
use crate::domain::city::City;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct CityItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    city_id: String,
    name: String,
    time_zone: String,
    currency: String,
    convenience_fee_per_ticket: i64,
    tax_basis_points: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    loyalty: Option<crate::domain::loyalty::LoyaltyRate>,
}

impl From<CityItem> for City {
    fn from(i: CityItem) -> Self {
        City {
            city_id: i.city_id,
            name: i.name,
            time_zone: i.time_zone,
            currency: i.currency,
            convenience_fee_per_ticket: i.convenience_fee_per_ticket,
            tax_basis_points: i.tax_basis_points,
            loyalty: i.loyalty,
        }
    }
}

impl Store {
    /// Creates or replaces a city.
    pub async fn put_city(&self, city: &City) -> Result<(), StoreError> {
        let item = CityItem {
            pk: keys::city_pk(&city.city_id),
            sk: keys::CITY_SK.into(),
            gsi1pk: keys::CITIES_GSI1PK.into(),
            gsi1sk: city.city_id.clone(),
            city_id: city.city_id.clone(),
            name: city.name.clone(),
            time_zone: city.time_zone.clone(),
            currency: city.currency.clone(),
            convenience_fee_per_ticket: city.convenience_fee_per_ticket,
            tax_basis_points: city.tax_basis_points,
            loyalty: city.loyalty,
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

    /// Every city, ordered by id (one GSI partition; there are few cities).
    pub async fn list_cities(&self) -> Result<Vec<City>, StoreError> {
        let items = self
            .query_all(Some(keys::GSI1), "gsi1pk", keys::CITIES_GSI1PK.into())
            .await?;
        items
            .into_iter()
            .map(|i| Ok(serde_dynamo::from_item::<_, CityItem>(i)?.into()))
            .collect()
    }
}
